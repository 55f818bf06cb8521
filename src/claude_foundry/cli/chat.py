"""``claude-foundry chat``: send one message and print the reply.

Configured like the client: ``ANTHROPIC_FOUNDRY_API_KEY`` with ``ANTHROPIC_FOUNDRY_RESOURCE`` or
``ANTHROPIC_FOUNDRY_BASE_URL`` (or ``--resource`` / ``--base-url``). With no Foundry settings at all
it starts the embedded emulator, says so on stderr, and talks to that, so the command works out of
the box.

The reply goes to stdout; usage and the two correlation ids (``request-id``, ``apim-request-id``)
go to stderr, so ``claude-foundry chat "..." > reply.txt`` keeps just the reply. While it waits,
a spinner runs on stderr when that is a terminal, and each retry is named there with its reason.
A reply too long to wait for without a stream (``--max-tokens`` above what the official client
allows for a 10-minute request) is streamed.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import sys
import warnings
from collections.abc import Iterator
from typing import Any

import click

from .._models import DEFAULT_MODEL, deprecation
from ..resources.messages import NONSTREAMING_MAX_TOKENS
from ._boundary import SetupError
from ._progress import Waiting

__all__ = ["command"]

_ENV_PREFIX = "ANTHROPIC_FOUNDRY_"


def _has_foundry_settings(base_url: str | None, resource: str | None) -> bool:
    if base_url or resource:
        return True
    return any(name.startswith(_ENV_PREFIX) and value for name, value in os.environ.items())


def _entra_credential() -> Any:
    try:
        from azure.identity import DefaultAzureCredential
    except ImportError:
        raise SetupError(
            "--entra needs azure-identity, which is not installed. Install it: pip install "
            "'claude-foundry[entra]' (from a checkout: pip install '.[entra]')."
        ) from None
    return DefaultAzureCredential()


@contextlib.contextmanager
def _client(
    base_url: str | None, resource: str | None, *, entra: bool, timeout: float | None
) -> Iterator[Any]:
    from .. import AnthropicFoundry

    options: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
    if entra:
        if not _has_foundry_settings(base_url, resource):
            raise SetupError(
                "--entra needs a Foundry endpoint: pass --resource NAME or --base-url URL, or set "
                "ANTHROPIC_FOUNDRY_RESOURCE (the embedded emulator takes a key)."
            )
        options["credential"] = _entra_credential()
    if _has_foundry_settings(base_url, resource):
        with AnthropicFoundry(base_url=base_url, resource=resource, **options) as client:
            yield client
        return
    from ..emulator import Emulator

    with Emulator() as emulator:
        click.echo(
            f"No Foundry settings (ANTHROPIC_FOUNDRY_* environment, --resource or --base-url): "
            f"using the embedded emulator at {emulator.base_url}",
            err=True,
        )
        with AnthropicFoundry(
            api_key=emulator.api_key, base_url=emulator.base_url, **options
        ) as client:
            yield client


def _reply_text(message: Any) -> str:
    texts = [block.text for block in message.content if block.type == "text"]
    if texts:
        return "".join(texts)
    kinds = ", ".join(str(block.type) for block in message.content) or "no content"
    return f"(no text in the reply: {kinds})"


def _report(message: Any) -> None:
    usage = message.usage
    click.echo(
        f"usage: {usage.input_tokens} input tokens, {usage.output_tokens} output tokens "
        f"(stop_reason: {message.stop_reason})",
        err=True,
    )
    click.echo(
        f"request-id: {message.request_id or '-'}  "
        f"apim-request-id: {message.apim_request_id or '-'}",
        err=True,
    )


@click.command("chat")
@click.argument("prompt")
@click.option("--stream", is_flag=True, help="Print the reply as it is generated.")
@click.option(
    "--model", default=DEFAULT_MODEL, show_default=True, help="The deployment name to call."
)
@click.option(
    "--max-tokens", default=1024, show_default=True, type=click.IntRange(min=1), help="Reply cap."
)
@click.option("--system", help="A system prompt.")
@click.option("--base-url", help="Endpoint, https://{resource}.services.ai.azure.com/anthropic/.")
@click.option("--resource", help="The Foundry resource name (instead of --base-url).")
@click.option(
    "--entra",
    is_flag=True,
    help="Sign in with Microsoft Entra ID (DefaultAzureCredential) instead of a key.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    help="Seconds to wait for the reply (default: the client's, 600).",
)
def command(
    prompt: str,
    stream: bool,
    model: str,
    max_tokens: int,
    system: str | None,
    base_url: str | None,
    resource: str | None,
    entra: bool,
    timeout: float | None,
) -> None:
    """Send PROMPT to a Claude deployment and print the reply.

    \b
    Example:
      claude-foundry chat "Hello!" --stream --model claude-sonnet-5
    """
    params: dict[str, Any] = {
        "model": model,
        "max_tokens": max_tokens,
        "messages": [{"role": "user", "content": prompt}],
    }
    if system:
        params["system"] = system
    retired = deprecation(model)
    if retired is not None:
        click.echo(f"warning: {retired.message(datetime.date.today())}", err=True)
    if not stream and timeout is None and max_tokens > NONSTREAMING_MAX_TOKENS:
        # The client refuses such a call without a stream (it could outlast the 10-minute
        # timeout); the command streams it instead of failing.
        click.echo(
            f"--max-tokens {max_tokens} is above {NONSTREAMING_MAX_TOKENS}, too long to wait "
            "for without a stream: streaming the reply.",
            err=True,
        )
        stream = True
    with (
        _client(base_url, resource, entra=entra, timeout=timeout) as client,
        Waiting(model) as waiting,
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore", DeprecationWarning)  # said above, once, in plain words
        if stream:
            with client.messages.stream(**params) as events:
                for text in events.text_stream:
                    waiting.reply_started()
                    click.echo(text, nl=False)
                    sys.stdout.flush()
                message = events.get_final_message()
            waiting.reply_started()
            click.echo()
        else:
            message = client.messages.create(**params)
            waiting.reply_started()
            click.echo(_reply_text(message))
    _report(message)
