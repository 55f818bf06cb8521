"""Where the command line meets a mistake: a clear one-line error and an exit status, never a
traceback.

A user mistake is a configuration or service error from the client (``AnthropicError``,
``ConfigurationError``), a bad value somewhere in the environment (a ``ValueError`` such as a
malformed ``HTTPS_PROXY``), a file or network problem (``OSError``) or an optional package that is
not installed. Each becomes ``Error: what went wrong`` on stderr plus what to do about it, with
keys, tokens and URL passwords redacted. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import os
import re
import sys
from typing import Any

import click

from .._errors import AnthropicError, APIStatusError, ConfigurationError
from .._token_cache import redact_secrets

__all__ = ["CommandGroup", "SetupError", "UserError", "describe_user_error", "redact"]

_PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY")
_URL_CREDENTIALS = re.compile(r"(?i)([a-z][a-z0-9+.-]*://)[^/\s@'\"]+@")
_OPTIONAL_PACKAGES = {
    "azure": "pip install 'claude-foundry[entra]' (from a checkout: pip install '.[entra]')",
    "aiohttp": "pip install 'claude-foundry[entra]' (from a checkout: pip install '.[entra]')",
    "socksio": "pip install socksio (what a socks5:// proxy needs), or use an http:// proxy",
}


class UserError(click.ClickException):
    """A mistake the user can fix, found while running (exit status 1)."""


class SetupError(UserError):
    """A mistake in the settings: arguments, environment, installed packages (exit status 2)."""

    exit_code = 2


def _secrets_in_environment() -> list[str]:
    secrets = [os.environ.get("ANTHROPIC_FOUNDRY_API_KEY", "").strip()]
    for name in (*_PROXY_VARIABLES, "ANTHROPIC_FOUNDRY_BASE_URL"):
        for value in (os.environ.get(name), os.environ.get(name.lower())):
            if value and "@" in value:
                userinfo = value.partition("://")[2].rpartition("@")[0]
                secrets.append(userinfo.partition(":")[2])
    return [secret for secret in secrets if len(secret) >= 4]


def redact(text: str) -> str:
    """``text`` without the key, tokens or the passwords of URLs in the environment."""
    text = _URL_CREDENTIALS.sub(r"\1[redacted]@", text)
    return redact_secrets(text, *_secrets_in_environment())


def describe_user_error(exc: BaseException) -> UserError | None:
    """The one-line error for a user mistake, or None for a bug."""
    if isinstance(exc, AnthropicError):
        text = str(exc)
        if isinstance(exc, APIStatusError) and exc.hint and exc.hint not in text:
            text += f"\nHint: {exc.hint}"
        return (SetupError if isinstance(exc, ConfigurationError) else UserError)(redact(text))
    if isinstance(exc, ImportError):
        top = (exc.name or "").partition(".")[0]
        fix = _OPTIONAL_PACKAGES.get(top)
        if fix is None and "socksio" in str(exc):
            fix = _OPTIONAL_PACKAGES["socksio"]
        if fix is None:
            return None
        return SetupError(f"{redact(str(exc)).rstrip('.')}. Install it: {fix}.")
    if isinstance(exc, ValueError):
        text = redact(str(exc)) or type(exc).__name__
        if "streaming is required" in text.lower():
            text += " Add --stream."
        elif "proxy" in text.lower():
            named = [
                name
                for name in _PROXY_VARIABLES
                if os.environ.get(name, os.environ.get(name.lower()))
            ]
            where = "/".join(named) or "HTTPS_PROXY"
            text += (
                f". Fix or unset {where}: a proxy URL looks like http://host:port "
                "(http://, https:// or socks5://)."
            )
        return SetupError(text)
    if isinstance(exc, OSError):
        return UserError(redact(str(exc)) or type(exc).__name__)
    return None


class CommandGroup(click.Group):
    """The ``claude-foundry`` group: a user mistake in any subcommand ends in one line."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("\ninterrupted", err=True)
            raise click.exceptions.Exit(130) from None
        except BrokenPipeError:
            # The reader went away (`... | head`): nothing is wrong, and nothing more can be said.
            # Later writes (Python's own flush at exit) go nowhere instead of failing again.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise click.exceptions.Exit(0) from None
        except Exception as exc:
            error = describe_user_error(exc)
            if error is None:
                raise
            raise error from None
