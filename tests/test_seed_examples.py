"""The guide's two Python examples, run as written with only the import line changed.

They name ``resource='example-resource'``; ``CLAUDE_FOUNDRY_ENDPOINT_TEMPLATE`` points resource
names at the emulator, so the code itself stays exactly as in the guide.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from claude_foundry import AnthropicFoundry, ConfigurationError
from claude_foundry.emulator import Emulator, EmulatorConfig

API_KEY_EXAMPLE = """\
import os
from claude_foundry import AnthropicFoundry
client = AnthropicFoundry(
api_key=os.environ.get("ANTHROPIC_FOUNDRY_API_KEY"),
resource='example-resource', # your resource name
)
message = client.messages.create(
model="claude-sonnet-4-5",
max_tokens=1024,
messages=[{"role": "user", "content": "Hello!"}]
)
print(message.content)
"""

ENTRA_EXAMPLE = """\
import os
from claude_foundry import AnthropicFoundry
from azure.identity import DefaultAzureCredential, get_bearer_token_provider
# Get Azure Entra ID token using token provider pattern
token_provider = get_bearer_token_provider(
DefaultAzureCredential(),
"https://cognitiveservices.azure.com/.default"
)
# Create client with Entra ID authentication
client = AnthropicFoundry(
resource='example-resource', # your resource name
azure_ad_token_provider=token_provider # Use token provider for Entra ID auth
)
# Make request
message = client.messages.create(
model="claude-sonnet-4-5",
max_tokens=1024,
messages=[{"role": "user", "content": "Hello!"}]
)
print(message.content)
"""


def _clean_environment() -> dict[str, str]:
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("ANTHROPIC_", "AZURE_", "IDENTITY_", "MSI_", "CLAUDE_FOUNDRY_"))
    }


def _run(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )


def test_the_api_key_example(emulator: Emulator) -> None:
    env = _clean_environment()
    env["ANTHROPIC_FOUNDRY_API_KEY"] = emulator.api_key
    env["CLAUDE_FOUNDRY_ENDPOINT_TEMPLATE"] = emulator.base_url

    result = _run(API_KEY_EXAMPLE, env)

    assert result.returncode == 0, result.stderr
    assert "TextBlock(" in result.stdout
    assert "Hello!" in result.stdout
    entry = emulator.journal()[-1]
    assert entry.status == 200
    assert entry.body["model"] == "claude-sonnet-4-5"


@pytest.fixture(scope="module")
def entra_emulator() -> Iterator[Emulator]:
    config = EmulatorConfig.from_mapping(
        {"entra": {"enabled": True, "principals": [{"name": "app", "roles": ["Foundry User"]}]}}
    )
    with Emulator(config) as emulator:
        yield emulator


def test_the_entra_id_example(entra_emulator: Emulator) -> None:
    directory = entra_emulator.state.entra
    assert directory is not None
    env = _clean_environment()
    env.update(directory.managed_identity_environment(entra_emulator.url))
    env["CLAUDE_FOUNDRY_ENDPOINT_TEMPLATE"] = entra_emulator.base_url

    result = _run(ENTRA_EXAMPLE, env)

    assert result.returncode == 0, result.stderr
    assert "TextBlock(" in result.stdout
    entry = entra_emulator.journal()[-1]
    assert entry.status == 200
    assert entry.headers["authorization"] == "[redacted]"


def test_a_template_names_the_cloud(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "CLAUDE_FOUNDRY_ENDPOINT_TEMPLATE", "https://{resource}.services.ai.azure.us/anthropic/"
    )
    client = AnthropicFoundry(api_key="k", resource="gov-resource")
    assert str(client.base_url) == "https://gov-resource.services.ai.azure.us/anthropic/"


def test_a_template_without_the_anthropic_path_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAUDE_FOUNDRY_ENDPOINT_TEMPLATE", "https://{resource}.example.com")
    with pytest.raises(ConfigurationError, match="CLAUDE_FOUNDRY_ENDPOINT_TEMPLATE") as info:
        AnthropicFoundry(api_key="k", resource="my-resource")
    assert "/anthropic" in str(info.value)


def test_without_a_template_a_resource_names_the_public_cloud(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CLAUDE_FOUNDRY_ENDPOINT_TEMPLATE", raising=False)
    client = AnthropicFoundry(api_key="k", resource="example-resource")
    assert str(client.base_url) == "https://example-resource.services.ai.azure.com/anthropic/"
