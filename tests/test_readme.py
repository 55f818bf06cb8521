"""Every example in README.md runs as written, against the emulator.

The README's ``python``, ``bash`` and ``toml`` blocks are taken from the file itself, so an edit
that breaks an example breaks this test. The python blocks run in order in one namespace, as a
reader pasting them into one session would; the bash blocks run in bash from the repository root;
the toml blocks (each names its file in its first line) configure an emulator.

Where the README points at Azure, the test points the same code at a local emulator without
changing it: ``resource="example-resource"`` reaches the emulator through
``CLAUDE_FOUNDRY_ENDPOINT_TEMPLATE``, and ``DefaultAzureCredential`` gets its tokens from the
emulator's managed-identity endpoint (``IDENTITY_ENDPOINT``), as on an Azure App Service.

``pip install`` lines are checked, not run: the suite already runs on the installed package, and
an install needs the network. A stand-in ``pip`` on PATH checks that each one installs this
checkout with extras that pyproject.toml declares. Blocks not run at all are in ``NOT_RUN``, each
with its reason.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import tomllib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from claude_foundry import AnthropicFoundry, _models
from claude_foundry.emulator import Emulator, EmulatorConfig

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
RUN_LANGUAGES = ("python", "bash", "toml")

NOT_RUN = {
    "bash scripts/test": (
        "runs the whole test suite, this test included; CI's .ci/run runs exactly this line"
    ),
    "python benchmarks/run.py": (
        "the full run takes minutes and rewrites docs/benchmarks.md; scripts/test runs the "
        "--smoke line in CI"
    ),
}
"""A substring of each block that is not run, and why."""


@dataclass(frozen=True)
class Block:
    language: str
    code: str
    line: int

    @property
    def id(self) -> str:
        return f"README.md:{self.line}"


def readme_blocks() -> list[Block]:
    text = README.read_text(encoding="utf-8")
    blocks = []
    for match in re.finditer(r"^```(\w*)\n(.*?)^```", text, re.MULTILINE | re.DOTALL):
        line = text.count("\n", 0, match.start()) + 2  # the block's first line of code
        blocks.append(Block(match.group(1), match.group(2), line))
    return blocks


def blocks_to_run(language: str) -> list[Block]:
    return [
        block
        for block in readme_blocks()
        if block.language == language and not any(key in block.code for key in NOT_RUN)
    ]


def test_every_example_is_run_or_listed_with_a_reason() -> None:
    blocks = readme_blocks()
    shells = {"sh", "shell", "console", "pycon", "py"}
    assert not [b.id for b in blocks if b.language in shells], "use python, bash or toml"
    for key in NOT_RUN:
        assert sum(key in block.code for block in blocks) == 1, f"stale NOT_RUN entry {key!r}"
    languages = {block.language for block in blocks}
    assert {"python", "bash", "toml"} <= languages
    assert "Python 3.11" in README.read_text(encoding="utf-8")


def test_the_python_floor_in_the_readme_is_the_packages() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["requires-python"] == ">=3.11"


def test_the_entra_extra_brings_what_azure_identity_aio_needs() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    entra = " ".join(pyproject["project"]["optional-dependencies"]["entra"])
    assert "azure-identity" in entra
    assert "aiohttp" in entra


# --- the environment the examples run in -------------------------------------------------------

_AZURE_VARIABLES = (
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_USERNAME",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_TOKEN_CREDENTIALS",
    "IDENTITY_SERVER_THUMBPRINT",
    "IMDS_ENDPOINT",
    "MSI_ENDPOINT",
    "MSI_SECRET",
    "ANTHROPIC_FOUNDRY_BASE_URL",
    "ANTHROPIC_FOUNDRY_RESOURCE",
    "ANTHROPIC_FOUNDRY_API_KEY",
    "CLAUDE_FOUNDRY_ENDPOINT_TEMPLATE",
)


@pytest.fixture(scope="module")
def azure_stand_in() -> Iterator[Emulator]:
    """A Foundry resource with keys and Microsoft Entra ID, where the examples send their calls."""
    config = EmulatorConfig.from_mapping(
        {"entra": {"enabled": True, "principals": [{"name": "app", "roles": ["Foundry User"]}]}}
    )
    with Emulator(config) as emulator:
        yield emulator


def example_environment(emulator: Emulator) -> dict[str, str]:
    directory = emulator.state.entra
    assert directory is not None
    return {
        "ANTHROPIC_FOUNDRY_API_KEY": emulator.api_key,
        "ANTHROPIC_FOUNDRY_RESOURCE": "example-resource",
        "CLAUDE_FOUNDRY_ENDPOINT_TEMPLATE": emulator.base_url,
        **directory.managed_identity_environment(emulator.url),
    }


@pytest.fixture
def examples_env(azure_stand_in: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    azure_stand_in.reset()
    for name in _AZURE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in example_environment(azure_stand_in).items():
        monkeypatch.setenv(name, value)
    _models._warned.clear()
    return azure_stand_in


# --- python --------------------------------------------------------------------------------------


def test_the_python_examples_run_in_order(
    examples_env: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    blocks = blocks_to_run("python")
    assert len(blocks) >= 8
    namespace: dict[str, object] = {"__name__": "readme"}
    with warnings.catch_warnings():
        # The examples name current models only.
        warnings.filterwarnings("error", message="The model .*", category=DeprecationWarning)
        for block in blocks:
            # Blank lines in front, so a traceback names the README's own line numbers.
            code = compile("\n" * (block.line - 1) + block.code, str(README), "exec")
            exec(code, namespace)
    test_my_app = namespace.get("test_my_app")
    assert callable(test_my_app)
    test_my_app(examples_env)
    printed = capsys.readouterr().out
    assert "[0, 1, 2]" in printed  # the retried call in the emulator example
    assert "404" in printed  # the NotFoundError example
    calls = examples_env.journal()
    assert any(entry.headers.get("authorization") for entry in calls)  # Entra examples
    assert any("x-api-key" in entry.headers for entry in calls)  # key examples


# --- bash ----------------------------------------------------------------------------------------

_PIP_STAND_IN = """\
#!{python}
# Checks a README `pip install` line instead of running it (see tests/test_readme.py).
import sys, tomllib
from pathlib import Path

args = sys.argv[1:]
if not args or args[0] != "install":
    sys.exit(f"pip stand-in: only `pip install` is expected, not {{args}}")
pyproject = Path("pyproject.toml")
if not pyproject.is_file():
    sys.exit("pip stand-in: run from the checkout (no pyproject.toml here)")
declared = set(tomllib.loads(pyproject.read_text())["project"]["optional-dependencies"])
targets = [arg for arg in args[1:] if arg != "-e"]
if not targets:
    sys.exit("pip stand-in: nothing to install")
for target in targets:
    path, _, extras = target.partition("[")
    if path != ".":
        sys.exit(f"pip stand-in: from a checkout the README installs '.', not {{target!r}}")
    wanted = {{e.strip() for e in extras.rstrip("]").split(",") if e.strip()}}
    if wanted - declared:
        sys.exit(f"pip stand-in: pyproject.toml declares no extra {{sorted(wanted - declared)}}")
"""


@pytest.fixture
def bash_env(examples_env: Emulator, tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    pip = bin_dir / "pip"
    pip.write_text(_PIP_STAND_IN.format(python=sys.executable), encoding="utf-8")
    pip.chmod(0o755)
    path = os.pathsep.join([str(bin_dir), str(Path(sys.executable).parent), os.environ["PATH"]])
    source = str(ROOT / "src")
    python_path = os.pathsep.join(filter(None, [source, os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PATH": path, "PYTHONPATH": python_path, "COLUMNS": "200"}


@pytest.mark.parametrize("block", blocks_to_run("bash"), ids=lambda block: block.id)
def test_the_bash_examples_run(block: Block, bash_env: dict[str, str]) -> None:
    # -e: a failing line fails the example; the trap stops anything an example left running.
    script = "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n" + block.code
    done = subprocess.run(
        ["bash", "-e", "-c", script],
        cwd=ROOT,
        env=bash_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    report = f"{block.id}\n{block.code}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    assert done.returncode == 0, report
    assert "Traceback" not in done.stderr, report
    assert "warning: The model" not in done.stderr, report


def test_the_first_command_uses_the_embedded_emulator_without_azure_settings(
    bash_env: dict[str, str],
) -> None:
    """The README's first block, in a shell with no Foundry settings at all, as its comment says."""
    first = readme_blocks()[0]
    assert first.language == "bash"
    # The block's second command runs the test suite (CI runs it); only the first is run here.
    lines = first.code.splitlines()
    chat = next(i for i, line in enumerate(lines) if 'claude-foundry chat "Hello!"' in line)
    first_command = "\n".join(lines[: chat + 1])
    bare = {
        name: value
        for name, value in bash_env.items()
        if name not in _AZURE_VARIABLES and not name.startswith(("IDENTITY_", "MSI_"))
    }
    done = subprocess.run(
        ["bash", "-e", "-c", first_command],
        cwd=ROOT,
        env=bare,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "using the embedded emulator" in done.stderr
    assert 'You said: "Hello!"' in done.stdout


def test_the_blocks_not_run_here_are_what_ci_runs() -> None:
    """`bash scripts/test` and the benchmark lines are not run by this test, but CI runs them
    exactly as the README shows them."""
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    suite = (ROOT / "scripts" / "test").read_text(encoding="utf-8")
    for block in readme_blocks():
        for key in NOT_RUN:
            if key not in block.code:
                continue
            for line in block.code.splitlines():
                if key not in line:
                    continue  # another command of the same block, run by the tests above
                command = line.partition("#")[0].strip()
                if command == "python benchmarks/run.py":
                    continue  # the full run; CI runs the --smoke line below it
                # The whole command, not a prefix of a longer one.
                runs = re.compile(r"(?<![\w/.-])" + re.escape(command) + r"(?![\w/.-])")
                if command:
                    assert runs.search(ci) or runs.search(suite), f"{block.id}: {command!r}"


# --- toml ----------------------------------------------------------------------------------------


def _named_toml_blocks() -> dict[str, str]:
    files = {}
    for block in blocks_to_run("toml"):
        first = block.code.splitlines()[0]
        match = re.match(r"#\s*([\w.-]+\.toml)\b", first)
        assert match, f"{block.id}: start a toml example with '# name.toml' so readers can save it"
        files[match.group(1)] = block.code
    return files


def test_the_emulator_configuration_examples_load_and_answer(tmp_path: Path) -> None:
    files = _named_toml_blocks()
    assert set(files) == {"emulator.toml", "replies.toml"}
    for name, code in files.items():
        (tmp_path / name).write_text(code, encoding="utf-8")
    config = EmulatorConfig.load(tmp_path / "emulator.toml")
    config.faults = []  # its example 529s would only slow the test down by their retry-after
    with Emulator(config) as emulator:
        assert emulator.api_key == "local-key"
        client = AnthropicFoundry(api_key="local-key", base_url=emulator.base_url)
        weather = [{"role": "user", "content": "What is the weather like?"}]
        reply = client.messages.create(model="chat", max_tokens=64, messages=weather)
        assert reply.content[0].text == "It is sunny in Paris."
        client.close()


def test_the_emulator_configuration_example_with_its_faults(tmp_path: Path) -> None:
    files = _named_toml_blocks()
    for name, code in files.items():
        (tmp_path / name).write_text(code, encoding="utf-8")
    config = EmulatorConfig.load(tmp_path / "emulator.toml")
    assert config.faults, "the README's example declares a fault"
    assert config.entra.enabled
    assert "chat" in config.deployments
    assert textwrap.dedent(files["replies.toml"]).count("[[scripts]]") >= 1
