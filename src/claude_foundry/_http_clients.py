"""HTTP clients with this package's defaults, for ``http_client=``.

``httpx2.Client()`` made by hand has httpx2's defaults (a 5 s timeout, 100 connections), not the
client's. :class:`DefaultHttpxClient` and :class:`DefaultAsyncHttpxClient` are the HTTP clients
the Foundry clients build for themselves, open to the same keyword arguments as httpx2's, so a
proxy or a transport can be added without losing the defaults, as with the official SDK::

    client = AnthropicFoundry(
        resource="example-resource",
        http_client=DefaultHttpxClient(proxy="http://proxy.example:8080"),
    )

The defaults: a 10-minute timeout (5 s to connect), 1,000 connections of which 100 kept alive,
and redirects not followed. The Foundry clients never follow a redirect, whatever the HTTP client
says: the credentials would go to a host nobody configured.
"""

from __future__ import annotations

from typing import Any, Final

import httpx2

from ._config import DEFAULT_TIMEOUT
from ._transport import FoundryAsyncClient

__all__ = [
    "DEFAULT_CONNECTION_LIMITS",
    "DefaultAsyncHttpxClient",
    "DefaultHttpxClient",
    "with_defaults",
]

DEFAULT_CONNECTION_LIMITS: Final = httpx2.Limits(
    max_connections=1000, max_keepalive_connections=100
)


def _reject_httpx_objects(options: dict[str, Any]) -> None:
    # Objects of the older `httpx` package look alike but fail deep inside a request.
    candidates = [options.get("transport"), *dict(options.get("mounts") or {}).values()]
    for value in candidates:
        for cls in type(value).__mro__:
            module = getattr(cls, "__module__", "")
            if isinstance(module, str) and module.partition(".")[0] == "httpx":
                raise TypeError(
                    f"`httpx.{cls.__name__}` is from the `httpx` package, but this client uses "
                    f"`httpx2`: use `httpx2.{cls.__name__}` instead."
                )


def with_defaults(options: dict[str, Any]) -> dict[str, Any]:
    """httpx2 client options with this package's defaults filled in."""
    _reject_httpx_objects(options)
    options.setdefault("timeout", DEFAULT_TIMEOUT)
    options.setdefault("limits", DEFAULT_CONNECTION_LIMITS)
    options.setdefault("follow_redirects", False)
    return options


class DefaultHttpxClient(httpx2.Client):
    """``httpx2.Client`` with the sync Foundry client's defaults; takes httpx2's arguments
    (``proxy``, ``transport``, ``mounts``, ``verify``, ``event_hooks``, ...)."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**with_defaults(options))


class DefaultAsyncHttpxClient(FoundryAsyncClient):
    """``httpx2.AsyncClient`` with the async Foundry client's defaults, its connection limits
    shared out over a few pools (see ``_transport``) unless a ``transport`` is given; takes
    httpx2's arguments."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**with_defaults(options))
