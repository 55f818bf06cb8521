"""Emulator configuration (TOML, defaults, catalog, run-time patches) and the authenticators."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx2
import pytest

from claude_foundry.emulator import (
    DEFAULT_API_KEY,
    DeploymentConfig,
    Emulator,
    EmulatorConfig,
    EmulatorConfigError,
)
from claude_foundry.emulator.auth import (
    AllowAll,
    AuthFailure,
    KeyAuthenticator,
    Principal,
    azure_error,
)
from claude_foundry.emulator.config import catalog

EXAMPLE = """
api_keys = ["key-one", "key-two"]
strict = true
stream_event_delay_ms = 5
max_body_bytes = 1_000_000
region = "Sweden Central"
seed = 7
default_deployments = false
scripts = ["replies.toml"]

[[deployments]]
name = "my-sonnet"
model = "claude-sonnet-4-6"
echo_model = "model"
quotas = { rpm = 10, input_tpm = 10_000, output_tpm = 2_000 }

[[deployments]]
name = "claude-haiku-4-5"

[[deployments]]
name = "private-model"
model = "claude-custom"
hosting = "anthropic"
unavailable_features = ["web_search"]

[[faults]]
kind = "status"
status = 529
count = 2
"""


def test_toml_example_loads(tmp_path: Path) -> None:
    (tmp_path / "replies.toml").write_text("", "utf-8")
    path = tmp_path / "emulator.toml"
    path.write_text(EXAMPLE, "utf-8")
    config = EmulatorConfig.load(path)
    assert config.api_keys == ["key-one", "key-two"]
    assert config.strict is True
    assert config.stream_event_delay_ms == 5
    assert config.region == "Sweden Central"
    assert config.seed == 7
    assert config.scripts == [tmp_path / "replies.toml"]
    assert sorted(config.deployments) == ["claude-haiku-4-5", "my-sonnet", "private-model"]
    sonnet = config.deployments["my-sonnet"]
    assert (sonnet.rpm, sonnet.input_tpm, sonnet.output_tpm) == (10, 10_000, 2_000)
    assert sonnet.hosting == "anthropic"  # the only option the catalog lists for this model
    assert sonnet.reply_model == "claude-sonnet-4-6"
    assert config.deployments["claude-haiku-4-5"].hosting == "azure"
    assert config.deployments["claude-haiku-4-5"].context_window == 200_000
    assert config.deployments["private-model"].blocked_features == ("web_search",)
    assert config.faults == [{"kind": "status", "status": 529, "count": 2}]
    assert "key-one" not in repr(config)
    assert "key-one" not in str(config.to_dict())


def test_defaults_follow_the_catalog() -> None:
    config = EmulatorConfig.default()
    assert config.api_keys == [DEFAULT_API_KEY]
    assert len(config.deployments) == len(catalog().models)
    for entry in catalog().models:
        deployment = config.deployments[entry["deployment"]]
        assert deployment.model == entry["model"]
        assert deployment.hosting == entry["hosting"][0]
        assert deployment.rpm is deployment.input_tpm is deployment.output_tpm is None
    hosting = {name: d.hosting for name, d in config.deployments.items()}
    assert hosting["claude-opus-4-8"] == hosting["claude-sonnet-5"] == "azure"
    assert hosting["claude-fable-5"] == hosting["claude-opus-4-5"] == "anthropic"
    assert {"claude-opus-5", "claude-opus-5-5", "claude-sonnet-5-5", "claude-fable-5-1"} <= set(
        hosting
    )


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"bogus": 1}, "bogus"),
        ({"api_key": ""}, "api_key"),
        ({"api_key": "a", "api_keys": ["b"]}, "not both"),
        ({"api_keys": []}, "api_keys"),
        ({"strict": "yes"}, "strict"),
        ({"stream_event_delay_ms": -1}, "stream_event_delay_ms"),
        ({"stream_event_delay_ms": float("nan")}, "stream_event_delay_ms"),
        ({"entra": {"token_lifetime_s": float("inf")}}, "token_lifetime_s"),
        ({"max_body_bytes": 0}, "max_body_bytes"),
        ({"deployments": {"name": "x"}}, "array of tables"),
        ({"deployments": [{"model": "m"}]}, "name"),
        ({"deployments": [{"name": "x", "hosting": "gcp"}]}, "hosting"),
        ({"deployments": [{"name": "x", "quotas": {"rpm": "10"}}]}, "rpm"),
        ({"deployments": [{"name": "x", "quotas": 5}]}, "quotas"),
        ({"deployments": [{"name": "x", "echo_model": "both"}]}, "echo_model"),
        ({"deployments": [{"name": "x", "unavailable_features": ["teleport"]}]}, "teleport"),
        ({"deployments": [{"name": "x", "unavailable_features": [["x"]]}]}, "unavailable_features"),
        ({"deployments": [{"name": "x", "rpm": 5}]}, "rpm"),
        ({"faults": {"kind": "status"}}, "faults"),
        ({"scripts": 5}, "scripts"),
        ({"quota_preset": "gold"}, "quota_preset"),
    ],
)
def test_bad_config_says_what_is_wrong(data: Mapping[str, Any], fragment: str) -> None:
    with pytest.raises(EmulatorConfigError, match=fragment):
        EmulatorConfig.from_mapping(data)


@pytest.mark.parametrize(
    "delay", [-1, -0.5, float("nan"), float("inf"), 60_000.5, 10**9, 1e300, True, "5", None]
)
def test_stream_event_delay_is_bounded(delay: object) -> None:
    with pytest.raises(EmulatorConfigError) as raised:
        EmulatorConfig.from_mapping({"stream_event_delay_ms": delay})
    message = str(raised.value)
    assert "stream_event_delay_ms must be a number of milliseconds from 0 to 60000" in message
    assert repr(delay) in message
    config = EmulatorConfig.default()
    with pytest.raises(EmulatorConfigError, match="stream_event_delay_ms"):
        config.patch({"stream_event_delay_ms": delay})
    assert config.stream_event_delay_ms == 0


@pytest.mark.parametrize("delay", [0, 2.5, 60_000])
def test_stream_event_delay_takes_any_pace_up_to_a_minute(delay: float) -> None:
    config = EmulatorConfig.from_mapping({"stream_event_delay_ms": delay})
    assert config.stream_event_delay_ms == delay


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(EmulatorConfigError, match="does not exist"):
        EmulatorConfig.load(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("api_key = ", "utf-8")
    with pytest.raises(EmulatorConfigError, match="not TOML"):
        EmulatorConfig.load(broken)
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes("region = 'Zürich'\n".encode("latin-1"))
    with pytest.raises(EmulatorConfigError, match="not UTF-8 text"):
        EmulatorConfig.load(latin1)
    faulty = tmp_path / "faulty.toml"
    faulty.write_text('[[faults]]\nkind = "status"\n', "utf-8")
    with pytest.raises(EmulatorConfigError, match=r"faults\[0\]"):
        Emulator(faulty)


def test_config_errors_are_value_errors() -> None:
    with pytest.raises(ValueError):
        EmulatorConfig.from_mapping({"strict": 1})


def test_quota_preset_spares_configured_quotas() -> None:
    config = EmulatorConfig.from_mapping(
        {
            "quota_preset": "enterprise",
            "deployments": [{"name": "claude-haiku-4-5", "quotas": {"rpm": 3}}],
        }
    )
    assert config.deployments["claude-haiku-4-5"].rpm == 3
    assert config.deployments["claude-sonnet-4-6"].rpm == 10_000
    assert config.deployments["claude-fable-5"].output_tpm == 800_000


def test_patch_is_all_or_nothing() -> None:
    config = EmulatorConfig.default()
    with pytest.raises(EmulatorConfigError):
        config.patch({"deployments": {"new": {"model": "claude-haiku-4-5"}}, "strict": "x"})
    assert "new" not in config.deployments
    config.patch({"deployments": {"claude-haiku-4-5": {"hosting": "anthropic"}}})
    assert config.deployments["claude-haiku-4-5"].hosting == "anthropic"
    assert config.deployments["claude-haiku-4-5"].blocked_features == ()


def test_echo_model_accepts_booleans() -> None:
    deployment = DeploymentConfig.from_mapping({"name": "d", "model": "m", "echo_model": True})
    assert deployment.reply_model == "m"
    deployment.update({"echo_model": False})
    assert deployment.reply_model == "d"


def test_unknown_model_gets_azure_hosting_and_no_window() -> None:
    deployment = DeploymentConfig.from_mapping({"name": "future", "model": "claude-next"})
    assert deployment.hosting == "azure"
    assert deployment.context_window is None


# --- authenticators -----------------------------------------------------------------------------


def test_key_authenticator() -> None:
    auth = KeyAuthenticator(["alpha", "beta"])
    assert isinstance(auth.authenticate({"api-key": "beta"}), Principal)
    assert auth.authenticate({"x-api-key": "alpha"}) == Principal("api-key", "key1")
    for headers in ({}, {"api-key": "gamma"}, {"authorization": "Bearer t"}, {"api-key": ""}):
        failure = auth.authenticate(headers)
        assert isinstance(failure, AuthFailure)
        assert failure.status == 401
    assert "alpha" not in repr(auth)
    assert isinstance(AllowAll().authenticate({}), Principal)


class RoleVerifier:
    """A stand-in token checker: "good" passes, "norole" lacks a data-plane role."""

    def verify(self, token: str) -> Principal | AuthFailure:
        if token == "good":
            return Principal("bearer", "user@example.com", frozenset({"Cognitive Services User"}))
        if token == "norole":
            return AuthFailure(403, azure_error(403, "PermissionDenied", "Principal lacks role"))
        return AuthFailure(401, azure_error(401, "401", "Invalid token"))


def test_token_verifier_slots_in() -> None:
    hello = {
        "model": "claude-haiku-4-5",
        "max_tokens": 5,
        "messages": [{"role": "user", "content": "x"}],
    }
    with Emulator(api_key="k", token_verifier=RoleVerifier()) as emu:
        url = f"{emu.base_url}v1/messages"

        def status(headers: dict[str, str]) -> int:
            return httpx2.post(url, headers=headers, json=hello).status_code

        assert status({"authorization": "Bearer good"}) == 200
        assert status({"authorization": "Bearer norole"}) == 403
        assert status({"authorization": "Bearer bad"}) == 401
        assert status({"api-key": "k"}) == 200
        emu.reset()
        assert status({"authorization": "Bearer good"}) == 200  # survives a reset


def test_auth_can_be_switched_off() -> None:
    hello = {
        "model": "claude-haiku-4-5",
        "max_tokens": 5,
        "messages": [{"role": "user", "content": "x"}],
    }
    with Emulator(EmulatorConfig.from_mapping({"require_auth": False})) as emu:
        assert httpx2.post(f"{emu.base_url}v1/messages", json=hello).status_code == 200
        emu.configure(require_auth=True)
        assert httpx2.post(f"{emu.base_url}v1/messages", json=hello).status_code == 401
