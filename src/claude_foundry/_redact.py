"""Keep the caller's own secrets out of error messages and log lines, even when a server echoes
them back.

A proxy or a misconfigured service may repeat the request's ``x-api-key``, ``Authorization``
token or a ``?api-key=`` query parameter in its error body; the message, ``body``, ``args`` (and
so the ``repr``) of the error built from it would carry the secret into logs and tracebacks.
:func:`redact_error` finds the secrets in the request the error belongs to (every header and
query parameter whose name says it holds a credential, :func:`is_secret_name`) and replaces them,
and anything shaped like a token, with ``[redacted]``, as the doctor does for its findings.

httpx2 logs every request at INFO on its ``httpx2`` logger, query string included
(``HTTP Request: POST https://...?api-key=... "HTTP/1.1 200 OK"``), so a secret a caller puts in
``default_query`` (an ``api-key``, a SAS ``sig``) would be in every log that keeps INFO.
:func:`hide_secrets_in_http_logs`, called when a client is made, adds a filter to that logger
that redacts such query values and URL passwords in its records; nothing else about its logging
changes.

    >>> redact_query_values('POST https://h/anthropic/v1/messages?api-version=1&api-key=abc')
    'POST https://h/anthropic/v1/messages?api-version=1&api-key=[redacted]'
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any
from urllib.parse import unquote_plus

import httpx2

from ._errors import APIError
from ._token_cache import redact_secrets

__all__ = [
    "REDACTED",
    "CredentialSafeHeaders",
    "CredentialSafeRequest",
    "hide_secrets_in_http_logs",
    "is_secret_name",
    "redact_error",
    "redact_query_values",
    "request_secrets",
]

REDACTED = "[redacted]"

# Names that carry credentials, by pattern rather than by list, so that a name nobody listed
# (``X-Goog-Api-Key``, ``client_secret``, ``sas_signature``, ``passwd``, a SAS ``sig``) is caught
# too. A false positive costs a value in a message or a log line; a miss would leak a secret.
_SECRET_NAME = re.compile(
    r"key|token|secret|passw|pwd|signature|credential|auth|cookie|session"
    r"|^(?:sig|code|pass)$|(?:^|[-_.])sig(?:$|[-_.])",
    re.IGNORECASE,
)


def is_secret_name(name: str) -> bool:
    """Whether a header or query parameter called ``name`` holds a credential."""
    return _SECRET_NAME.search(name.strip()) is not None


# Shorter values are not replaced: "[redacted]" in place of every "k" would garble the message,
# and no real key or token is that short.
MIN_SECRET_LENGTH = 8


def request_secrets(request: httpx2.Request | None) -> tuple[str, ...]:
    """The credential values a request carries, longest first."""
    if request is None:
        return ()
    found: set[str] = set()
    for name, value in request.headers.items():
        if is_secret_name(name):
            found.add(value)
            scheme, _, token = value.partition(" ")  # "Bearer <token>", "Basic <...>"
            if token and scheme.isalpha():
                found.add(token.strip())
    for name, value in request.url.params.multi_items():
        if is_secret_name(name):
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


# A query parameter inside any text: after ``?``, ``&`` or ``;``, up to the next separator or a
# character that cannot be in a logged URL (space, quote).
_QUERY_PARAMETER = re.compile(r"(?<=[?&;])([^=&;#?\s\"']+)=([^&;#\s\"']*)")
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#\s@'\"]+@")


def redact_query_values(text: str) -> str:
    """``text`` with the value of every query parameter named like a credential, and the
    ``user:password@`` of every URL, replaced by ``[redacted]``."""

    def hide(match: re.Match[str]) -> str:
        name = match.group(1)
        return f"{name}={REDACTED}" if is_secret_name(unquote_plus(name)) else match.group(0)

    return _URL_USERINFO.sub(rf"\1{REDACTED}@", _QUERY_PARAMETER.sub(hide, text))


class _RedactQuerySecrets(logging.Filter):
    """Redacts credential query values and URL passwords in a record's arguments.

    The record keeps its format string and its other arguments, so handlers and formatters see
    the same line as before, less the secrets. Should a secret still show in the formatted line
    (a query written into the format string itself), the record becomes that line, redacted.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_redact_argument(argument) for argument in record.args)
        try:
            line = record.getMessage()
        except Exception:  # a malformed record: logging reports it when it formats the line
            return True
        redacted = redact_query_values(line)
        if redacted != line:
            record.msg, record.args = redacted, None
        return True


def _redact_argument(argument: object) -> object:
    if not isinstance(argument, httpx2.URL | str):
        return argument
    text = str(argument)
    redacted = redact_query_values(text)
    return argument if redacted == text else redacted  # a URL without secrets stays a URL


_HTTP_LOGGER = "httpx2"  # the logger httpx2's clients write their request lines to
_installed = threading.Lock()


def hide_secrets_in_http_logs() -> None:
    """Add the redacting filter to httpx2's logger, once per process (later calls do nothing)."""
    logger = logging.getLogger(_HTTP_LOGGER)
    with _installed:
        if not any(isinstance(item, _RedactQuerySecrets) for item in logger.filters):
            logger.addFilter(_RedactQuerySecrets())


def _hidden(name: str, value: str) -> str:
    return "[secure]" if is_secret_name(name) else value  # httpx2's own mark for Authorization


class CredentialSafeHeaders(httpx2.Headers):
    """Headers whose ``repr`` hides every value whose name says it is a credential. httpx2 hides
    ``Authorization`` only, and Foundry's key travels in ``x-api-key`` / ``api-key``: an error's
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
