"""The doctor resolves the endpoint as the client does; its report never shows a URL's password."""

from __future__ import annotations

import json
import warnings
from typing import Any

import pytest
from click.testing import CliRunner

from claude_foundry import AnthropicFoundry
from claude_foundry.cli import main
from claude_foundry.doctor import CHECK_NAMES, CheckResult, DoctorOptions, run_doctor
from claude_foundry.emulator import Emulator

KEY = "test-key"
TEMPLATE = "CLAUDE_FOUNDRY_ENDPOINT_TEMPLATE"


def doctor(environ: dict[str, str], **options: Any) -> dict[str, CheckResult]:
    options.setdefault("timeout", 5)
    results = run_doctor(DoctorOptions(**options), environ=environ)
    assert [r.name for r in results] == list(CHECK_NAMES)
    return {r.name: r for r in results}


# --- the endpoint template -----------------------------------------------------------------------


def test_the_doctor_checks_the_host_the_endpoint_template_names(emulator: Emulator) -> None:
    environ = {
        "ANTHROPIC_FOUNDRY_API_KEY": KEY,
        "ANTHROPIC_FOUNDRY_RESOURCE": "example-resource",
        TEMPLATE: emulator.base_url,
    }
    checks = doctor(environ)
    assert checks["base_url"].status == "ok", checks["base_url"]
    assert checks["base_url"].detail.startswith(emulator.base_url)
    assert TEMPLATE in checks["base_url"].detail
    assert "services.ai.azure.com" not in checks["dns"].detail
    assert checks["auth"].status == "ok", checks["auth"]
    assert checks["deployment"].status == "ok", checks["deployment"]
    assert emulator.journal()[0].path == "/anthropic/v1/messages/count_tokens"


def test_a_template_with_the_resource_placeholder_is_filled_in() -> None:
    environ = {
        "ANTHROPIC_FOUNDRY_API_KEY": KEY,
        "ANTHROPIC_FOUNDRY_RESOURCE": "example-resource",
        TEMPLATE: "https://{resource}.services.ai.azure.us/anthropic/",
    }
    checks = doctor(environ, timeout=0.5)
    assert checks["base_url"].detail.startswith(
        "https://example-resource.services.ai.azure.us/anthropic/"
    )


def test_a_broken_template_fails_the_base_url_check_with_the_fix() -> None:
    environ = {
        "ANTHROPIC_FOUNDRY_API_KEY": KEY,
        "ANTHROPIC_FOUNDRY_RESOURCE": "example-resource",
        TEMPLATE: "https://{resource}.example.com/",
    }
    checks = doctor(environ)
    assert checks["base_url"].status == "fail"
    assert TEMPLATE in checks["base_url"].detail
    assert TEMPLATE in checks["base_url"].fix
    assert checks["auth"].status == "skip"


@pytest.mark.parametrize(
    "environ",
    [
        {"ANTHROPIC_FOUNDRY_RESOURCE": "example-resource"},
        {
            "ANTHROPIC_FOUNDRY_RESOURCE": "example-resource",
            TEMPLATE: "http://127.0.0.1:9/anthropic/",
        },
        {
            "ANTHROPIC_FOUNDRY_RESOURCE": "res-1",
            TEMPLATE: "https://{resource}.services.ai.azure.us/anthropic/",
        },
        {"ANTHROPIC_FOUNDRY_BASE_URL": "https://example-resource.services.ai.azure.com/anthropic"},
        {
            "ANTHROPIC_FOUNDRY_BASE_URL": "https://r.services.ai.azure.com/anthropic/v1/messages",
            TEMPLATE: "http://127.0.0.1:9/anthropic/",
        },
    ],
)
def test_the_doctor_and_the_client_agree_on_the_endpoint(
    environ: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("ANTHROPIC_FOUNDRY_RESOURCE", "ANTHROPIC_FOUNDRY_BASE_URL", TEMPLATE):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the Target URI case warns; not the point
        client = AnthropicFoundry(api_key=KEY)
    client.close()
    checks = doctor({**environ, "ANTHROPIC_FOUNDRY_API_KEY": KEY}, timeout=0.2, send_message=False)
    assert str(client.base_url) in checks["base_url"].detail


# --- credentials in a base URL -------------------------------------------------------------------

PASSWORD = "hunter2-secret"


@pytest.mark.parametrize(
    "raw",
    [
        f"https://user:{PASSWORD}@example-resource.services.ai.azure.com/anthropic/",
        f"https://user:{PASSWORD}@example-resource.services.ai.azure.com",
        f"user:{PASSWORD}@example-resource.services.ai.azure.com/anthropic/",
        f"ftp://user:{PASSWORD}@example-resource.services.ai.azure.com/anthropic/",
    ],
)
def test_a_base_url_with_a_password_is_never_echoed_nor_suggested_back(raw: str) -> None:
    checks = doctor({"ANTHROPIC_FOUNDRY_API_KEY": KEY, "ANTHROPIC_BASE_URL": raw}, base_url=raw)
    result = checks["base_url"]
    assert result.status == "fail"
    for check in checks.values():
        assert PASSWORD not in check.detail + check.fix, check
    assert raw not in result.fix
    assert "https://example-resource.services.ai.azure.com/anthropic/" in result.fix


def test_a_scheme_the_client_refuses_is_not_suggested_back() -> None:
    raw = "ftp://example-resource.services.ai.azure.com/anthropic/"
    result = doctor({"ANTHROPIC_FOUNDRY_API_KEY": KEY}, base_url=raw)["base_url"]
    assert result.status == "fail"
    assert raw not in result.fix
    assert "https://example-resource.services.ai.azure.com/anthropic/" in result.fix


def test_a_proxy_password_stays_out_of_the_report() -> None:
    environ = {
        "ANTHROPIC_FOUNDRY_API_KEY": KEY,
        "HTTPS_PROXY": f"http://user:{PASSWORD}@127.0.0.1:9",
    }
    checks = doctor(environ, resource="example-resource", timeout=0.5)
    assert "127.0.0.1:9" in checks["environment"].detail
    for check in checks.values():
        assert PASSWORD not in check.detail + check.fix


def test_the_table_shows_text_in_brackets_as_written() -> None:
    raw = f"https://user:{PASSWORD}@example-resource.services.ai.azure.com/anthropic/"
    runner = CliRunner()
    result = runner.invoke(
        main,
        ["doctor", "--base-url", raw],
        env={"ANTHROPIC_FOUNDRY_API_KEY": KEY, "COLUMNS": "250"},
    )
    assert result.exit_code == 1
    assert PASSWORD not in result.output
    assert "[redacted]" in result.output, result.output
    as_json = runner.invoke(
        main, ["doctor", "--base-url", raw, "--json"], env={"ANTHROPIC_FOUNDRY_API_KEY": KEY}
    )
    rows = {row["name"]: row for row in json.loads(as_json.output)}
    assert "[redacted]" in rows["base_url"]["detail"]
    assert PASSWORD not in as_json.output
