"""``AnthropicFoundry`` and ``AsyncAnthropicFoundry``: thin I/O shells over the pipeline.

Every decision is made in :mod:`claude_foundry._pipeline` and :mod:`claude_foundry._auth`; the
two clients perform the steps those flows yield: send a request, read a chunk, sleep, call the
token provider. The sync client does them with ``httpx2.Client`` and ``time.sleep``, the async
client with ``httpx2.AsyncClient`` and ``asyncio.sleep``.

    >>> from claude_foundry import AnthropicFoundry
    >>> client = AnthropicFoundry(api_key="...", resource="example-resource")
    >>> client
    AnthropicFoundry(base_url='https://example-resource.services.ai.azure.com/anthropic/', auth='api-key')
"""  # noqa: E501

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable, Generator, Iterable, Mapping
from functools import cached_property
from types import TracebackType
from typing import Any, Generic, Self, TypeVar, assert_never

import httpx2

from ._admission import PRIORITIES, AdmissionGate, Priority, asettling_events, settling_events
from ._auth import ApiKeyAuth, Auth, CredentialAuth, TokenProviderAuth
from ._config import (
    DEFAULT_ANTHROPIC_VERSION,
    DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_RETRY_DELAY,
    DEFAULT_TIMEOUT,
    NOT_GIVEN,
    NotGiven,
    Settings,
    bad_certificates_message,
    bad_proxy_message,
    redact_url,
    resolve_settings,
)
from ._count_cache import CountTokensCache, count_cache_from
from ._deadline import enforce_deadlines, within
from ._errors import ConfigurationError
from ._middleware import prepare_middleware, send_async, send_sync
from ._observe import CallObserver, observe, resolve_observers
from ._pipeline import Call, Pipeline, StreamStart
from ._redact import hide_secrets_in_http_logs
from ._steps import (
    Admit,
    Close,
    FetchToken,
    NextChunk,
    OpenChunks,
    ReadBody,
    Send,
    Settle,
    Sleep,
    Step,
)
from ._stream import AsyncStream, Stream
from ._token_cache import AsyncCredentialTokenSource, CredentialTokenSource
from ._version import __version__
from .resources import ALTERNATIVES, UNAVAILABLE_ON_CLIENT, NotOnFoundry, stand_ins
from .resources.beta import AsyncBeta, Beta
from .resources.messages import AsyncMessages, Messages

__all__ = ["AnthropicFoundry", "AsyncAnthropicFoundry"]

_HttpT = TypeVar("_HttpT", httpx2.Client, httpx2.AsyncClient)
_HTTPX_DEFAULT_HEADER_NAMES = frozenset({"accept", "accept-encoding", "connection", "user-agent"})
# The official client's connection limits, for the HTTP clients made here.


def _retry_count(request: httpx2.Request) -> int:
    count = request.headers.get("x-stainless-retry-count", "0")
    return int(count) if count.isdigit() else 0


def _user_agent() -> str:
    return f"claude-foundry/{__version__}"


class _FoundryClient(Generic[_HttpT]):
    """What both clients share: settings, auth, the pipeline, and the resource tree."""

    _http: _HttpT
    _owns_http: bool
    _http_class: type[_HttpT]
    _middleware: tuple[Any, ...]

    models = NotOnFoundry("client.models", ALTERNATIVES["models"])
    completions = NotOnFoundry("client.completions", ALTERNATIVES["completions"])
    files = NotOnFoundry("client.files", ALTERNATIVES["files"])
    skills = NotOnFoundry("client.skills", ALTERNATIVES["skills"])
    organization = NotOnFoundry("client.organization", ALTERNATIVES["admin"])
    user_profiles = NotOnFoundry("client.user_profiles", ALTERNATIVES["admin"])

    def __init__(
        self,
        *,
        resource: str | None = None,
        api_key: str | None = None,
        azure_ad_token_provider: Callable[[], Any] | None = None,
        base_url: str | httpx2.URL | None = None,
        timeout: float | httpx2.Timeout | NotGiven | None = NOT_GIVEN,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Mapping[str, str] | None = None,
        default_query: Mapping[str, object] | None = None,
        http_client: _HttpT | None = None,
        max_retry_delay: float = DEFAULT_MAX_RETRY_DELAY,
        retry_budget: float | None = None,
        anthropic_version: str = DEFAULT_ANTHROPIC_VERSION,
        webhook_key: str | None = None,
        middleware: Iterable[Any] | None = None,
        credential: Any = None,
        token_scope: str | None = None,
        governor: AdmissionGate | None = None,
        priority: Priority = "interactive",
        ledger: Any = None,
        observers: Iterable[CallObserver] = (),
        tags: Mapping[str, str] | None = None,
        record_content: bool = False,
        count_tokens_cache: CountTokensCache | bool | None = None,
        _strict_response_validation: bool = False,
    ) -> None:
        """Keyword-only, as the official client. Beyond it:

        ``max_retry_delay`` caps how long a server-requested wait (``retry-after-ms`` /
        ``retry-after``) may last (default 60 s); ``retry_budget`` bounds, in seconds, how long
        after its first attempt a call may still start a retry (default: no bound; the error
        then says the budget stopped it); ``anthropic_version`` is the ``anthropic-version``
        header (default ``2026-10-21``, as the official client; a request with ``temperature``,
        ``top_p`` or ``top_k`` goes out under ``2023-06-01``, the version that has them).

        ``credential`` takes an azure-identity credential (``DefaultAzureCredential()``; an
        ``azure.identity.aio`` one for the async client): its token is cached until shortly before
        expiry, refreshed once for all concurrent requests, and refreshed and resent once after a
        401. ``token_scope`` defaults to ``https://ai.azure.com/.default``.

        ``governor`` (a :class:`claude_foundry.quota.QuotaGovernor`) admits each attempt into its
        deployment's quota pool before it is sent, waiting for room rather than meeting a 429;
        ``priority`` (``"interactive"`` or ``"background"``) is how this client's calls rank.

        ``ledger`` records every call in a usage ledger: a URL (``sqlite:///usage.db``,
        ``postgresql://...``) or a :class:`claude_foundry.ledger.Ledger`; by default the
        ``CLAUDE_FOUNDRY_LEDGER`` environment variable, ``False`` for none. ``observers`` receive
        every call's :class:`~claude_foundry.CallRecord`; ``tags`` label this client's records
        (a call's own ``tags=`` add to them). ``record_content=True`` puts each request's body
        and the reply's text in the records (off by default: no prompt or reply is recorded).

        ``count_tokens_cache`` (a :class:`claude_foundry.CountTokensCache`, or ``True`` for one with
        the defaults) answers a repeated ``count_tokens`` request from memory instead of spending
        a request of the deployment's quota on it.
        """
        if http_client is not None and not isinstance(http_client, self._http_class):
            raise TypeError(
                "Invalid `http_client` argument; Expected an instance of "
                f"`httpx2.{self._http_class.__name__}` but got {type(http_client)}"
            )
        settings = resolve_settings(
            api_key=api_key,
            resource=resource,
            base_url=base_url,
            azure_ad_token_provider=azure_ad_token_provider,
            timeout=timeout,
            max_retries=max_retries,
            max_retry_delay=max_retry_delay,
            retry_budget=retry_budget,
            default_headers=default_headers,
            default_query=default_query,
            anthropic_version=anthropic_version,
            http_client=http_client,
            credential=credential,
            token_scope=token_scope,
            warn_stacklevel=3,
        )
        hide_secrets_in_http_logs()  # httpx2 logs each request's URL, query string included
        self.webhook_key = webhook_key
        self._middleware = prepare_middleware(
            middleware, is_async=self._http_class is httpx2.AsyncClient
        )
        self._configure(settings, http_client, owns_http=True)
        self._set_admission(governor, priority)
        self._observers = resolve_observers(ledger, observers)
        self._tags = dict(tags) if tags else None
        self._record_content = record_content
        self._count_tokens_cache = count_cache_from(count_tokens_cache)

    def _configure(
        self,
        settings: Settings,
        http_client: _HttpT | None,
        *,
        owns_http: bool,
        inherited_auth: Auth | None = None,
    ) -> None:
        self._settings = settings
        auth: Auth
        if inherited_auth is not None:
            auth = inherited_auth  # a copy shares its parent's token cache
        elif settings.credential is not None:
            auth = CredentialAuth(self._token_source(settings))
        elif settings.azure_ad_token_provider is not None:
            auth = TokenProviderAuth(settings.azure_ad_token_provider)
        else:
            assert settings.api_key is not None
            auth = ApiKeyAuth(settings.api_key)
        self._auth = auth
        inherited = None
        if http_client is not None:
            inherited = {
                name: value
                for name, value in http_client.headers.items()
                if name.lower() not in _HTTPX_DEFAULT_HEADER_NAMES
            }
        self._pipeline = Pipeline(
            settings, auth, user_agent=_user_agent(), inherited_headers=inherited
        )
        # The official non-streaming guard applies only on a client with the default timeout.
        self._uses_default_timeout = settings.timeout == DEFAULT_TIMEOUT
        if http_client is None:
            try:
                http_client = self._make_http(settings)
            except (httpx2.InvalidURL, ValueError) as exc:  # only proxy URLs are parsed there
                raise ConfigurationError(bad_proxy_message(exc)) from None
            except OSError as exc:  # ssl.SSLError included: the CA bundle did not load
                raise ConfigurationError(bad_certificates_message(exc)) from None
        self._http = http_client
        self._owns_http = owns_http
        enforce_deadlines(self._http)

    def _count_key(self, cache: CountTokensCache, call: Call) -> bytes | None:
        pipeline = self._pipeline
        return cache.key(call, pipeline.base_headers, pipeline.url_for(call.path))

    def _set_admission(self, governor: AdmissionGate | None, priority: Priority) -> None:
        if priority not in PRIORITIES:
            raise ConfigurationError(
                f"priority must be one of {list(PRIORITIES)}, not {priority!r}"
            )
        self._pipeline.admission = governor
        self._pipeline.priority = priority

    @property
    def governor(self) -> AdmissionGate | None:
        """The quota governor admitting this client's calls, if any."""
        return self._pipeline.admission

    @property
    def priority(self) -> Priority:
        return self._pipeline.priority

    def _token_source(
        self, settings: Settings
    ) -> CredentialTokenSource | AsyncCredentialTokenSource:
        raise NotImplementedError

    def _make_http(self, settings: Settings) -> _HttpT:
        raise NotImplementedError

    # --- public attributes, as on the official client -----------------------------------------

    @property
    def base_url(self) -> httpx2.URL:
        return httpx2.URL(self._settings.base_url)

    @property
    def api_key(self) -> str | None:
        return self._settings.api_key

    @property
    def timeout(self) -> httpx2.Timeout:
        return self._settings.timeout

    @property
    def max_retries(self) -> int:
        return self._settings.max_retries

    @property
    def max_retry_delay(self) -> float:
        return self._settings.max_retry_delay

    @property
    def retry_budget(self) -> float | None:
        return self._settings.retry_budget

    @property
    def auth_mode(self) -> str:
        """``"api-key"`` or ``"entra-id"``."""
        return self._auth.mode

    @property
    def default_headers(self) -> dict[str, str]:
        return {
            name: value
            for name, value in self._pipeline.base_headers.items()
            if name not in self._auth.static_headers
        }

    @property
    def default_query(self) -> dict[str, object]:
        return dict(self._settings.custom_query)

    @property
    def user_agent(self) -> str:
        return self._pipeline.base_headers["user-agent"]

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(base_url={redact_url(self._settings.base_url)!r}, "
            f"auth={self._auth.mode!r})"
        )

    # --- copies ---------------------------------------------------------------------------------

    def copy(
        self,
        *,
        api_key: str | None = None,
        azure_ad_token_provider: Callable[[], Any] | None = None,
        webhook_key: str | None = None,
        base_url: str | httpx2.URL | None = None,
        timeout: float | httpx2.Timeout | NotGiven | None = NOT_GIVEN,
        http_client: _HttpT | None = None,
        max_retries: int | NotGiven = NOT_GIVEN,
        default_headers: Mapping[str, str] | None = None,
        set_default_headers: Mapping[str, str] | None = None,
        default_query: Mapping[str, object] | None = None,
        set_default_query: Mapping[str, object] | None = None,
        max_retry_delay: float | NotGiven = NOT_GIVEN,
        retry_budget: float | NotGiven | None = NOT_GIVEN,
        anthropic_version: str | None = None,
        credential: Any = None,
        token_scope: str | None = None,
        governor: AdmissionGate | NotGiven | None = NOT_GIVEN,
        priority: Priority | None = None,
        _extra_kwargs: Mapping[str, Any] | None = None,
    ) -> Self:
        """A new client with the same options, except those given. It shares the HTTP client.

        A new ``api_key`` replaces a token provider and a new ``azure_ad_token_provider``
        replaces a key (the official client would keep sending the old provider's token).
        """
        if default_headers is not None and set_default_headers is not None:
            raise ValueError(
                "The `default_headers` and `set_default_headers` arguments are mutually exclusive"
            )
        if default_query is not None and set_default_query is not None:
            raise ValueError(
                "The `default_query` and `set_default_query` arguments are mutually exclusive"
            )
        current = self._settings
        headers: Mapping[str, str] = current.custom_headers
        if default_headers is not None:
            headers = {**headers, **default_headers}
        elif set_default_headers is not None:
            headers = set_default_headers
        query: Mapping[str, object] = current.custom_query
        if default_query is not None:
            query = {**query, **default_query}
        elif set_default_query is not None:
            query = set_default_query
        inherited_auth = None
        if api_key is None and azure_ad_token_provider is None and credential is None:
            api_key = current.api_key
            azure_ad_token_provider = current.azure_ad_token_provider
            credential = current.credential
            if credential is not None and token_scope in (None, current.token_scope):
                inherited_auth = self._auth
            if credential is not None and token_scope is None:
                token_scope = current.token_scope
        settings = resolve_settings(
            api_key=api_key,
            resource=None,
            base_url=base_url if base_url is not None else current.base_url,
            azure_ad_token_provider=azure_ad_token_provider,
            timeout=current.timeout if isinstance(timeout, NotGiven) else timeout,
            max_retries=current.max_retries if isinstance(max_retries, NotGiven) else max_retries,
            max_retry_delay=(
                current.max_retry_delay
                if isinstance(max_retry_delay, NotGiven)
                else max_retry_delay
            ),
            retry_budget=(
                current.retry_budget if isinstance(retry_budget, NotGiven) else retry_budget
            ),
            default_headers=headers,
            default_query=query,
            anthropic_version=anthropic_version or current.anthropic_version,
            http_client=None,
            credential=credential,
            token_scope=token_scope,
        )
        clone = object.__new__(type(self))
        clone.webhook_key = webhook_key or self.webhook_key
        clone._middleware = self._middleware
        clone._configure(
            settings, http_client or self._http, owns_http=False, inherited_auth=inherited_auth
        )
        clone._set_admission(
            self._pipeline.admission if isinstance(governor, NotGiven) else governor,
            priority or self._pipeline.priority,
        )
        clone._observers = self._observers
        clone._tags = self._tags
        clone._record_content = self._record_content
        clone._count_tokens_cache = self._count_tokens_cache
        return clone

    with_options = copy

    @property
    def middleware(self) -> tuple[Any, ...]:
        """The middleware every HTTP attempt runs through (see ``_middleware.py``)."""
        return self._middleware

    def with_middleware(self, *middleware: Any) -> Self:
        """A copy of the client whose attempts also run through ``middleware`` (after the
        client's own)."""
        clone = self.copy()
        added: tuple[Any, ...] = prepare_middleware(
            middleware, is_async=self._http_class is httpx2.AsyncClient
        )
        clone._middleware = (*self._middleware, *added)
        return clone

    # --- resources -----------------------------------------------------------------------------

    @cached_property
    def with_raw_response(self) -> WithRawResponse:
        """``client.with_raw_response.messages.create(...)``, as on the official client."""
        return WithRawResponse(self)

    @cached_property
    def with_streaming_response(self) -> WithStreamingResponse:
        """``client.with_streaming_response.messages.create(...)``, as on the official client."""
        return WithStreamingResponse(self)


stand_ins(_FoundryClient, "client", UNAVAILABLE_ON_CLIENT)
_UNAVAILABLE_RESOURCES = {
    "files": "files",
    "skills": "skills",
    "organization": "admin",
    "user_profiles": "admin",
}


class WithRawResponse:
    """The client's resources, each returning :class:`~claude_foundry.resources.RawResponse`."""

    models = NotOnFoundry("client.with_raw_response.models", ALTERNATIVES["models"])

    def __init__(self, client: Any) -> None:
        self._client = client

    @property
    def messages(self) -> Any:
        return self._client.messages.with_raw_response

    @property
    def beta(self) -> Any:
        return self._client.beta.with_raw_response


class WithStreamingResponse:
    """The client's resources, each returning a response whose body is not read yet."""

    models = NotOnFoundry("client.with_streaming_response.models", ALTERNATIVES["models"])

    def __init__(self, client: Any) -> None:
        self._client = client

    @property
    def messages(self) -> Any:
        return self._client.messages.with_streaming_response

    @property
    def beta(self) -> Any:
        return self._client.beta.with_streaming_response


stand_ins(WithRawResponse, "client.with_raw_response", _UNAVAILABLE_RESOURCES)
stand_ins(WithStreamingResponse, "client.with_streaming_response", _UNAVAILABLE_RESOURCES)


class AnthropicFoundry(_FoundryClient[httpx2.Client]):
    """Claude in Microsoft Foundry, synchronous. A drop-in for ``anthropic.AnthropicFoundry``.

    Where it differs, it fails earlier and clearer: configuration mistakes (a host name as
    ``resource``, a base URL without ``/anthropic``, a key together with a token provider) raise
    :class:`~claude_foundry.ConfigurationError` before anything is sent; the key goes in
    ``x-api-key`` only; a stream that fails before its first content delta is retried; an in-stream
    error raises the class of its type; APIs Foundry lacks (``models``, ``batches``) raise
    :class:`~claude_foundry.NotSupportedOnFoundryError` naming the alternative.
    """

    _http_class = httpx2.Client

    def _token_source(self, settings: Settings) -> CredentialTokenSource:
        return CredentialTokenSource(settings.credential, settings.token_scope)

    def _make_http(self, settings: Settings) -> httpx2.Client:
        from ._http_clients import DefaultHttpxClient
        from ._transport import close_when_collected

        http = DefaultHttpxClient(timeout=settings.timeout)
        close_when_collected(http)
        return http

    @cached_property
    def messages(self) -> Messages:
        return Messages(self)

    @cached_property
    def beta(self) -> Beta:
        return Beta(self)

    def _request(self, call: Call) -> Any:
        cache = self._count_tokens_cache
        if cache is None or (key := self._count_key(cache, call)) is None:
            return self._request_uncached(call)
        counted = cache.get(key)
        if counted is None:
            counted = self._request_uncached(call)
            cache.put(key, counted)
        return counted

    def _request_uncached(self, call: Call) -> Any:
        flow = self._pipeline.request_flow(call)
        if self._observers:
            flow = observe(
                flow, call, self._observers, self._tags, record_content=self._record_content
            )
        result = self._drive(flow)
        if type(result) is StreamStart:
            stream = Stream(
                response=result.response,
                decoder=result.decoder,
                chunks=result.chunks,
                pending=result.pending,
                limits=result.limits,
                trace=result.trace,
            )
            if result.admission is not None:
                stream._events = settling_events(stream._events, *result.admission)
            return stream
        return result

    def _drive(self, flow: Generator[Step, Any, Any]) -> Any:
        http = self._http
        value: Any = None
        error: Exception | None = None
        streamed: httpx2.Response | None = None  # closed here if we are interrupted
        try:
            while True:
                try:
                    step = flow.send(value) if error is None else flow.throw(error)
                except StopIteration as stop:
                    return stop.value
                value = error = None
                try:
                    if isinstance(step, Send):
                        # Redirects are never followed, whoever built the HTTP client: the
                        # credentials would go to a host nobody configured.
                        with within(step.deadline):
                            if self._middleware:
                                value = send_sync(
                                    self._middleware,
                                    http,
                                    step.request,
                                    stream=step.stream,
                                    retries_taken=_retry_count(step.request),
                                )
                            else:
                                value = http.send(
                                    step.request, stream=step.stream, follow_redirects=False
                                )
                        if step.stream:
                            streamed = value
                    elif isinstance(step, NextChunk):
                        with within(step.deadline):
                            value = next(step.chunks, None)
                    elif isinstance(step, FetchToken):
                        value = step.provider()
                    elif isinstance(step, Sleep):
                        time.sleep(step.seconds)
                    elif isinstance(step, OpenChunks):
                        value = step.response.iter_bytes()
                    elif isinstance(step, ReadBody):
                        with within(step.deadline):
                            step.response.read()
                    elif isinstance(step, Close):
                        step.response.close()
                    elif isinstance(step, Admit):
                        value = step.gate.reserve(step.ask)
                    elif isinstance(step, Settle):
                        step.gate.settle(step.grant, step.outcome)
                    else:
                        assert_never(step)
                except Exception as exc:
                    error = exc
        except BaseException:
            # An error or an interrupt (KeyboardInterrupt) before a stream was handed over:
            # release its connection now rather than when the garbage collector gets to it.
            if streamed is not None:
                streamed.close()
            flow.close()
            raise

    def close(self) -> None:
        """Close the connection pool (unless the HTTP client was passed in or is shared)."""
        if self._owns_http:
            self._http.close()

    def is_closed(self) -> bool:
        return self._http.is_closed

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncAnthropicFoundry(_FoundryClient[httpx2.AsyncClient]):
    """Claude in Microsoft Foundry, asyncio. A drop-in for ``anthropic.AsyncAnthropicFoundry``.

    ``azure_ad_token_provider`` may be sync or async.
    """

    _http_class = httpx2.AsyncClient

    def _token_source(self, settings: Settings) -> AsyncCredentialTokenSource:
        return AsyncCredentialTokenSource(settings.credential, settings.token_scope)

    def _make_http(self, settings: Settings) -> httpx2.AsyncClient:
        from ._http_clients import DefaultAsyncHttpxClient
        from ._transport import close_when_collected

        # The same limits, shared out over a few pools (see _transport for why).
        http = DefaultAsyncHttpxClient(timeout=settings.timeout)
        close_when_collected(http)
        return http

    @cached_property
    def messages(self) -> AsyncMessages:
        return AsyncMessages(self)

    @cached_property
    def beta(self) -> AsyncBeta:
        return AsyncBeta(self)

    async def _request(self, call: Call) -> Any:
        cache = self._count_tokens_cache
        if cache is None or (key := self._count_key(cache, call)) is None:
            return await self._request_uncached(call)
        counted = cache.get(key)
        if counted is None:
            counted = await self._request_uncached(call)
            cache.put(key, counted)
        return counted

    async def _request_uncached(self, call: Call) -> Any:
        flow = self._pipeline.request_flow(call)
        if self._observers:
            flow = observe(
                flow, call, self._observers, self._tags, record_content=self._record_content
            )
        result = await self._drive(flow)
        if type(result) is StreamStart:
            stream = AsyncStream(
                response=result.response,
                decoder=result.decoder,
                chunks=result.chunks,
                pending=result.pending,
                limits=result.limits,
                trace=result.trace,
            )
            if result.admission is not None:
                stream._events = asettling_events(stream._events, *result.admission)
            return stream
        return result

    async def _drive(self, flow: Generator[Step, Any, Any]) -> Any:
        http = self._http
        value: Any = None
        error: Exception | None = None
        streamed: httpx2.Response | None = None  # closed here if we are cancelled
        try:
            while True:
                try:
                    step = flow.send(value) if error is None else flow.throw(error)
                except StopIteration as stop:
                    return stop.value
                value = error = None
                try:
                    if isinstance(step, Send):
                        with within(step.deadline):
                            if self._middleware:
                                value = await send_async(
                                    self._middleware,
                                    http,
                                    step.request,
                                    stream=step.stream,
                                    retries_taken=_retry_count(step.request),
                                )
                            else:
                                value = await http.send(
                                    step.request, stream=step.stream, follow_redirects=False
                                )
                        if step.stream:
                            streamed = value
                    elif isinstance(step, NextChunk):
                        with within(step.deadline):
                            value = await anext(step.chunks, None)
                    elif isinstance(step, FetchToken):
                        value = step.provider()
                        if inspect.isawaitable(value):
                            value = await value
                    elif isinstance(step, Sleep):
                        await asyncio.sleep(step.seconds)
                    elif isinstance(step, OpenChunks):
                        value = step.response.aiter_bytes()
                    elif isinstance(step, ReadBody):
                        with within(step.deadline):
                            await step.response.aread()
                    elif isinstance(step, Close):
                        await step.response.aclose()
                    elif isinstance(step, Admit):
                        value = await step.gate.areserve(step.ask)
                    elif isinstance(step, Settle):
                        await step.gate.asettle(step.grant, step.outcome)
                    else:
                        assert_never(step)
                except Exception as exc:
                    error = exc
        except BaseException:
            # An error or a cancellation before a stream was handed over: release its
            # connection now rather than when the garbage collector gets to it.
            if streamed is not None:
                await streamed.aclose()
            flow.close()
            raise

    async def close(self) -> None:
        """Close the connection pool (unless the HTTP client was passed in or is shared)."""
        if self._owns_http:
            await self._http.aclose()

    def is_closed(self) -> bool:
        return self._http.is_closed

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
