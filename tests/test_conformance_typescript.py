"""Conformance: the official TypeScript client (``@anthropic-ai/foundry-sdk``) against the emulator.

``conformance/typescript/conformance.mjs`` drives the client over loopback HTTP and prints one
JSON result per case; these tests check those results and what the emulator's journal recorded
from the TypeScript client (its headers, retry counts, request ids). They need Node.js and the
pinned packages, so they carry the ``typescript`` marker, which the default run leaves out:
``scripts/test-typescript`` installs the packages and runs them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from claude_foundry.emulator import Emulator, EmulatorConfig
from claude_foundry.emulator.journal import JournalEntry
from claude_foundry.emulator.responder import default_reply_text
from claude_foundry.types import MessageCreateRequest, RequestMessage

pytestmark = pytest.mark.typescript

CONFORMANCE_DIR = Path(__file__).resolve().parents[1] / "conformance" / "typescript"
SCRIPT = CONFORMANCE_DIR / "conformance.mjs"
FOUNDRY_PACKAGE = CONFORMANCE_DIR / "node_modules" / "@anthropic-ai" / "foundry-sdk"
DEPLOYMENT = "claude-sonnet-4-6"
API_KEY = "ts-conformance-key"
INSTALL_HINT = "run `scripts/test-typescript` (or `npm ci --prefix conformance/typescript`)"


def _locked_version(package: str) -> str:
    lock = json.loads((CONFORMANCE_DIR / "package-lock.json").read_text())
    version: str = lock["packages"][f"node_modules/{package}"]["version"]
    return version


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail(f"`node` is not on PATH: install Node.js 18 or newer, then {INSTALL_HINT}")
    if not FOUNDRY_PACKAGE.is_dir():
        pytest.fail(f"{FOUNDRY_PACKAGE} is missing: {INSTALL_HINT}")
    return node


def _run_script(emulator: Emulator, *cases: str, api_key: str | None) -> dict[str, Any]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("ANTHROPIC_")}
    env["ANTHROPIC_FOUNDRY_BASE_URL"] = emulator.base_url
    if api_key is not None:
        env["ANTHROPIC_FOUNDRY_API_KEY"] = api_key
    completed = subprocess.run(
        [_node(), str(SCRIPT), *cases],
        cwd=CONFORMANCE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )
    try:
        report: dict[str, Any] = json.loads(completed.stdout)
    except json.JSONDecodeError:
        pytest.fail(
            f"conformance.mjs exited with {completed.returncode} and no JSON report:\n"
            f"stdout: {completed.stdout[-2000:]}\nstderr: {completed.stderr[-4000:]}"
        )
    return report


class Run:
    """One run of the script: its results by case, and the journal it left behind."""

    def __init__(self, report: dict[str, Any], journal: list[JournalEntry]) -> None:
        self.report = report
        self.results: dict[str, dict[str, Any]] = report["results"]
        self.journal = journal

    def result(self, case: str) -> dict[str, Any]:
        result = self.results[case]
        assert result["ok"], json.dumps(result, indent=2)
        return result

    def entries(self, case: str) -> list[JournalEntry]:
        """The case's requests, found by the prompt that names it."""
        marker = f"the {case} case"
        return [entry for entry in self.journal if marker in json.dumps(entry.body)]

    def refused(self) -> list[JournalEntry]:
        """Requests refused with 401: the body of an unauthenticated request is not recorded."""
        return [entry for entry in self.journal if entry.status == 401]


@pytest.fixture(scope="module")
def run() -> Iterator[Run]:
    with Emulator(api_key=API_KEY) as emulator:
        report = _run_script(emulator, api_key=API_KEY)
        yield Run(report, emulator.journal())


@pytest.fixture(scope="module")
def entra_run() -> Iterator[Run]:
    config = EmulatorConfig.from_mapping(
        {"entra": {"enabled": True, "principals": [{"name": "app", "roles": ["Foundry User"]}]}}
    )
    with Emulator(config) as emulator:
        report = _run_script(emulator, "entra", api_key=None)
        yield Run(report, emulator.journal())


def _reply_text(prompt: str) -> str:
    request = MessageCreateRequest(
        model=DEPLOYMENT, max_tokens=1, messages=[RequestMessage(role="user", content=prompt)]
    )
    return default_reply_text(request)


def test_the_pinned_client_ran(run: Run) -> None:
    assert run.report["sdk"] == {
        "foundry": "1.1.1",
        "core": _locked_version("@anthropic-ai/sdk"),
    }
    failed = {name: result for name, result in run.results.items() if not result["ok"]}
    assert not failed, json.dumps(failed, indent=2)


def test_create_and_both_request_ids(run: Run) -> None:
    result = run.result("create")
    [entry] = run.entries("create")
    assert result["text"] == _reply_text("Hello from the create case")
    assert result["stopReason"] == "end_turn"
    assert result["model"] == DEPLOYMENT
    assert result["requestId"] == result["messageRequestId"] == entry.request_id
    assert result["apimRequestId"] == entry.apim_request_id
    assert result["region"]
    assert entry.status == 200
    assert entry.stream is False


def test_headers_the_typescript_client_sends(run: Run) -> None:
    [entry] = run.entries("create")
    core_version = _locked_version("@anthropic-ai/sdk")
    assert entry.header("user-agent") == f"AnthropicFoundry/JS {core_version}"
    assert entry.header("x-stainless-lang") == "js"
    assert entry.header("x-stainless-runtime") == "node"
    assert entry.header("x-stainless-package-version") == core_version
    assert entry.header("anthropic-version")
    # A key goes in x-api-key only (the Python client also sends api-key).
    assert entry.header("x-api-key") == "[redacted]"
    assert entry.header("api-key") is None
    assert entry.header("authorization") is None
    assert entry.header("anthropic-dangerous-direct-browser-access") is None
    assert entry.unknown_fields == []
    assert entry.retry_count == 0


def test_stream_helper_text_events_and_final_message(run: Run) -> None:
    result = run.result("stream")
    [entry] = run.entries("stream")
    assert result["text"] == _reply_text("Hello from the stream case")
    assert result["deltas"] > 1
    assert result["eventTypes"][:2] == ["message_start", "content_block_start"]
    assert result["eventTypes"][-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert result["stopReason"] == "end_turn"
    assert result["contentType"].startswith("text/event-stream")
    assert result["requestId"] == result["streamRequestId"] == entry.request_id
    assert result["apimRequestId"] == entry.apim_request_id
    assert entry.stream is True
    assert entry.body["stream"] is True
    assert entry.header("x-stainless-helper-method") == "stream"


def test_create_with_stream_true(run: Run) -> None:
    result = run.result("raw_stream")
    [entry] = run.entries("raw_stream")
    assert result["text"] == _reply_text("Hello from the raw_stream case")
    assert result["stopReason"] == "end_turn"
    assert result["outputTokens"] > 0
    assert result["requestId"] == entry.request_id
    assert entry.stream is True
    assert entry.header("x-stainless-helper-method") is None


def test_count_tokens_agrees_with_usage(run: Run) -> None:
    result = run.result("count_tokens")
    counted, created = run.entries("count_tokens")
    assert result["inputTokens"] == result["usageInputTokens"] > 0
    assert counted.path.endswith("/v1/messages/count_tokens")
    assert created.path.endswith("/v1/messages")


def test_tool_use_round_trip(run: Run) -> None:
    result = run.result("tool_use")
    assert result["stopReason"] == "tool_use"
    assert result["toolName"] == "get_weather"
    assert result["toolId"].startswith("toolu_")
    assert result["toolInput"] == {"city": "example city", "days": 1}
    assert result["followUpText"] == 'The get_weather tool returned: "Snow, -3 C".'
    assert [entry.status for entry in run.entries("tool_use")] == [200, 200]


EXPECTED_ERRORS = {
    "unknown_deployment": ("NotFoundError", 404),
    "wrong_key": ("AuthenticationError", 401),
    "400": ("BadRequestError", 400),
    "403": ("PermissionDeniedError", 403),
    "413": ("ContentTooLargeError", 413),
    "429": ("RateLimitError", 429),
    "500": ("InternalServerError", 500),
    "503": ("ServiceUnavailableError", 503),
    "529": ("OverloadedError", 529),
}


def test_error_statuses_map_to_the_sdk_classes(run: Run) -> None:
    result = run.result("errors")
    [refused] = run.refused()
    entries = run.entries("errors")
    entries.insert(1, refused)
    assert [entry.status for entry in entries] == [status for _, status in EXPECTED_ERRORS.values()]
    for (case, (error_class, status)), entry in zip(EXPECTED_ERRORS.items(), entries, strict=True):
        error = result[case]
        assert (error["class"], error["status"]) == (error_class, status), case
        assert error["requestID"] == entry.request_id, case
        assert error["apimRequestId"] == entry.apim_request_id, case
        assert entry.retry_count == 0, case
    assert "DeploymentNotFound" in result["unknown_deployment"]["message"]
    assert result["529"]["type"] == "overloaded_error"


def test_retries_after_an_overload_with_retry_after(run: Run) -> None:
    result = run.result("retry")
    entries = run.entries("retry")
    recovered, exhausted = entries[:3], entries[3:]
    assert [(e.status, e.retry_count) for e in recovered] == [(529, 0), (529, 1), (200, 2)]
    assert result["requestId"] == recovered[-1].request_id
    assert [(e.status, e.retry_count) for e in exhausted] == [(529, 0), (529, 1), (529, 2)]
    assert result["exhausted"]["class"] == "OverloadedError"
    assert result["exhausted"]["retryAfter"] == "0.05"
    assert result["exhausted"]["requestID"] == exhausted[-1].request_id


def test_stream_is_retried_before_its_first_byte(run: Run) -> None:
    result = run.result("stream_retry")
    entries = run.entries("stream_retry")
    assert result["text"] == _reply_text("Hello from the stream_retry case")
    assert [(e.status, e.retry_count) for e in entries] == [(529, 0), (200, 1)]


def test_mid_stream_error_event(run: Run) -> None:
    result = run.result("stream_error")
    [entry] = run.entries("stream_error")  # an error after the 200 is not retried
    assert result["class"] == "APIError"
    assert result["status"] is None
    assert result["type"] == "overloaded_error"
    assert result["errorBody"]["error"]["type"] == "overloaded_error"
    assert result["requestID"] == result["streamRequestId"] == entry.request_id
    assert result["deltasBeforeError"] >= 1
    assert entry.status == 200
    assert entry.fault_id is not None


def test_entra_token_provider(entra_run: Run) -> None:
    result = entra_run.result("entra")
    entries = entra_run.entries("entra") + entra_run.refused()
    assert [(e.status, e.retry_count) for e in entries] == [(529, 0), (200, 1), (200, 0), (401, 0)]
    assert result["text"] == result["streamedText"] == _reply_text("Hello from the entra case")
    # One 529 and its retry: the provider is asked again for every attempt.
    assert result["providerCallsForCreate"] == 2
    assert result["providerCalls"] == 3
    assert result["requestId"] == entries[1].request_id
    assert entries[2].stream is True
    for entry in entries:
        assert entry.header("authorization") == "[redacted]"
        assert entry.header("anthropic-dangerous-direct-browser-access") == "true"
        assert entry.header("x-api-key") is None
        assert entry.header("api-key") is None
    assert result["badToken"]["class"] == "AuthenticationError"
    assert "not a JWT" in result["badToken"]["message"]
    assert result["providerFailure"] == {
        "class": "AnthropicError",
        "status": None,
        "type": None,
        "requestID": None,
        "apimRequestId": None,
        "retryAfter": None,
        "message": "Failed to get token from azureADTokenProvider: no credential available",
    }
