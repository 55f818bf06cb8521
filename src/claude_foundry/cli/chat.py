"""``claude-foundry chat``: send one message and print the reply.

Configured like the client: ``ANTHROPIC_FOUNDRY_API_KEY`` with ``ANTHROPIC_FOUNDRY_RESOURCE`` or
``ANTHROPIC_FOUNDRY_BASE_URL`` (or ``--resource`` / ``--base-url``). With no Foundry settings at all
it starts the embedded emulator, says so on stderr, and talks to that, so the command works out of
the box.

The reply goes to stdout; usage and the two correlation ids (``request-id``, ``apim-request-id``)
go to stderr, so ``claude-foundry chat "..." > reply.txt`` keeps just the reply.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any

import click

from .._errors import AnthropicError, APIStatusError, ConfigurationError

__all__ = ["command"]

DEFAULT_MODEL = "claude-sonnet-4-5"
_ENV_PREFIX = "ANTHROPIC_FOUNDRY_"


def _has_foundry_settings(base_url: str | None, resource: str | None) -> bool:
    if base_url or resource:
        return True
    return any(name.startswith(_ENV_PREFIX) and value for name, value in os.environ.items())


@contextlib.contextmanager
def _client(base_url: str | None, resource: str | None) -> Iterator[Any]:
    from .. import AnthropicFoundry

    if _has_foundry_settings(base_url, resource):
        with AnthropicFoundry(base_url=base_url, resource=resource) as client:
            yield client
        return
    from ..emulator import Emulator

    with Emulator() as emulator:
        click.echo(
            f"No Foundry settings (ANTHROPIC_FOUNDRY_* environment, --resource or --base-url): "
            f"using the embedded emulator at {emulator.base_url}",
            err=True,
        )
        with AnthropicFoundry(api_key=emulator.api_key, base_url=emulator.base_url) as client:
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


class _ConfigurationFailure(click.ClickException):
    exit_code = 2


def _fail(exc: AnthropicError) -> click.ClickException:
    text = str(exc)
    if isinstance(exc, APIStatusError) and exc.hint and exc.hint not in text:
        text += f"\nHint: {exc.hint}"
    if isinstance(exc, ConfigurationError):
        return _ConfigurationFailure(text)
    return click.ClickException(text)


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
def command(
    prompt: str,
    stream: bool,
    model: str,
    max_tokens: int,
    system: str | None,
    base_url: str | None,
    resource: str | None,
) -> None:
    """Send PROMPT to a Claude deployment and print the reply.

    \b
    Example:
      claude-foundry chat "Hello!" --stream --model claude-sonnet-4-5
    """
    params: dict[str, Any] = {
        "model": model,
        "max_tokens": max_tokens,
        "messages": [{"role": "user", "content": prompt}],
    }
    if system:
        params["system"] = system
    try:
        with _client(base_url, resource) as client:
            if stream:
                with client.messages.stream(**params) as events:
                    for text in events.text_stream:
                        click.echo(text, nl=False)
                        sys.stdout.flush()
                    message = events.get_final_message()
                click.echo()
            else:
                message = client.messages.create(**params)
                click.echo(_reply_text(message))
            _report(message)
    except AnthropicError as exc:
        raise _fail(exc) from None
    except KeyboardInterrupt:
        click.echo("\ninterrupted", err=True)
        sys.exit(130)
