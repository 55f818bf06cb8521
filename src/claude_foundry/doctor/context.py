"""The doctor's options and the state of one run, which the checks read and fill in turn."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx2

from .._config import ENV_API_KEY, ENV_BASE_URL, ENV_RESOURCE
from .._errors import APIStatusError
from .._models import DEFAULT_MODEL
from .._token_cache import DEFAULT_TOKEN_SCOPE
from .tokens import TokenFacts

__all__ = ["DEFAULT_DEPLOYMENT", "Answer", "DoctorContext", "DoctorOptions", "resolve_context"]

DEFAULT_DEPLOYMENT = DEFAULT_MODEL


@dataclass(frozen=True, slots=True)
class DoctorOptions:
    """What to check. ``None`` means "as the client would resolve it from the environment"."""

    resource: str | None = None
    base_url: str | None = None
    deployment: str = DEFAULT_DEPLOYMENT
    api_key_env: str | None = None
    """The variable holding the key; ``ANTHROPIC_FOUNDRY_API_KEY`` when not given."""
    token_env: str | None = None
    """A variable holding a Microsoft Entra access token (read, never printed)."""
    entra: bool = False
    """Get a token from ``DefaultAzureCredential`` (needs azure-identity)."""
    scope: str = DEFAULT_TOKEN_SCOPE
    timeout: float = 10.0
    send_message: bool = True
    """Send a one-token Messages request after count_tokens (the only check that costs tokens)."""


@dataclass(slots=True)
class Answer:
    """An HTTP probe's answer: the response, its error when the status is 4xx/5xx, the body."""

    response: httpx2.Response
    error: APIStatusError | None
    data: object


@dataclass
class DoctorContext:
    options: DoctorOptions
    environ: Mapping[str, str]
    token_provider: Callable[[], Any] | None
    credential: Any
    key: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    key_source: str = ENV_API_KEY
    resource: str | None = None
    resource_source: str = ""
    base_url_raw: str | None = None
    base_url_source: str = ""
    base_url: str | None = None
    """The validated base URL the HTTP checks use."""
    url: httpx2.URL | None = None
    """Where the network checks connect (parsed even when the path is wrong)."""
    token_facts: TokenFacts | None = None
    credential_label: str = ""
    proxy: str | None = field(default=None, repr=False)
    """The proxy URL from the environment (it may hold a password: shown via display_proxy)."""
    http: httpx2.Client | None = None
    blocked: set[str] = field(default_factory=set)
    count_tokens_answer: Answer | None = None
    """What the auth probe's count_tokens got back; the deployment check reads it again."""

    @property
    def entra(self) -> bool:
        options = self.options
        return bool(
            options.entra or options.token_env or self.token_provider or self.credential is not None
        )

    def env(self, name: str) -> str | None:
        value = self.environ.get(name)
        if value is None:
            return None
        return value.strip() or None


def resolve_context(ctx: DoctorContext) -> None:
    """Where the key, resource and base URL come from, as the client resolves them."""
    options = ctx.options
    ctx.key_source = options.api_key_env or ENV_API_KEY
    if not ctx.entra:
        ctx.key = ctx.env(ctx.key_source)
    if options.resource is not None:
        ctx.resource, ctx.resource_source = options.resource, "--resource"
    elif options.base_url is None and ctx.env(ENV_RESOURCE) is not None:
        ctx.resource, ctx.resource_source = ctx.env(ENV_RESOURCE), f"${ENV_RESOURCE}"
    if options.base_url is not None:
        ctx.base_url_raw, ctx.base_url_source = options.base_url, "--base-url"
    elif ctx.env(ENV_BASE_URL) is not None:
        ctx.base_url_raw, ctx.base_url_source = ctx.env(ENV_BASE_URL), f"${ENV_BASE_URL}"
