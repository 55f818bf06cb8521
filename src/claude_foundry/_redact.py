"""Keep the caller's own secrets out of error messages, even when a server echoes them back.

A proxy or a misconfigured service may repeat the request's ``x-api-key``, ``Authorization``
token or a ``?api-key=`` query parameter in its error body; the message, ``body``, ``args`` (and
so the ``repr``) of the error built from it would carry the secret into logs and tracebacks.
:func:`redact_error` finds the secrets in the request the error belongs to (every header and
query parameter whose name says it holds a credential) and replaces them, and anything shaped
like a token, with ``[redacted]``, as the doctor does for its findings.
"""

from __future__ import annotations

import re
from typing import Any

import httpx2

from ._errors import APIError
from ._token_cache import redact_secrets

__all__ = ["CredentialSafeHeaders", "CredentialSafeRequest", "redact_error", "request_secrets"]

_CREDENTIAL_NAME = re.compile(
    r"(?i)key|token|auth|secret|passw|signature|sig$|credential|cookie|session"
)
# Shorter values are not replaced: "[redacted]" in place of every "k" would garble the message,
# and no real key or token is that short.
MIN_SECRET_LENGTH = 8


def request_secrets(request: httpx2.Request | None) -> tuple[str, ...]:
    """The credential values a request carries, longest first."""
    if request is None:
        return ()
    found: set[str] = set()
    for name, value in request.headers.items():
        if _CREDENTIAL_NAME.search(name):
            found.add(value)
            scheme, _, token = value.partition(" ")  # "Bearer <token>", "Basic <...>"
            if token and scheme.isalpha():
                found.add(token.strip())
    for name, value in request.url.params.multi_items():
        if _CREDENTIAL_NAME.search(name):
            found.add(value)
    password = request.url.password
    if password:
        found.add(password)
    return tuple(
        sorted((value for value in found if len(value) >= MIN_SECRET_LENGTH), key=len, reverse=True)
    )


def redact_error(error: BaseException) -> None:
    """Remove the secrets of ``error``'s request from its message, ``args`` and ``body``."""
    if not isinstance(error, APIError):
        return
    secrets = request_secrets(error.request)

    def clean(value: Any) -> Any:
        if isinstance(value, str):
            return redact_secrets(value, *secrets)
        if isinstance(value, dict):
            return {key: clean(item) for key, item in value.items()}
        if isinstance(value, list):
            return [clean(item) for item in value]
        return value

    error.message = clean(error.message)
    error.args = tuple(clean(arg) for arg in error.args)
    error.body = clean(error.body)
    for attribute in ("api_message", "type", "code"):
        value = getattr(error, attribute, None)
        if isinstance(value, str):
            setattr(error, attribute, clean(value))


def _hidden(name: str, value: str) -> str:
    return "[secure]" if _CREDENTIAL_NAME.search(name) else value


class CredentialSafeHeaders(httpx2.Headers):
    """Headers whose ``repr`` hides every value whose name says it is a credential. httpx2 hides
    ``Authorization`` only, and Foundry's key travels in ``api-key``: an error's
    ``request.headers`` shown by a debugger, a traceback with locals or an error tracker would
    carry it."""

    def __repr__(self) -> str:
        shown = [(name, _hidden(name, value)) for name, value in self.multi_items()]
        as_dict = dict(shown)
        return f"{type(self).__name__}({as_dict if len(as_dict) == len(shown) else shown!r})"


class CredentialSafeRequest(httpx2.Request):
    """A request whose ``repr`` and headers' ``repr`` hide credentials, in its URL's query too
    (``default_query={"api-key": ...}``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Same layout, different repr: no copy of the headers on every request.
        self.headers.__class__ = CredentialSafeHeaders

    def __repr__(self) -> str:
        url = self.url
        if url.query:
            hidden = [(name, _hidden(name, value)) for name, value in url.params.multi_items()]
            url = url.copy_with(params=hidden)
        return f"<Request({self.method!r}, {str(url).replace('%5Bsecure%5D', '[secure]')!r})>"
