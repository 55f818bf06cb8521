"""The routed client: ``AnthropicFoundry``'s ``messages`` surface over a catalogue of deployments.

    from claude_foundry.router import RoutedFoundry, load_catalogue

    client = RoutedFoundry(load_catalogue("deployments.toml"))
    message = client.messages.create(model="sonnet", max_tokens=256, messages=[...])
    message.deployment            # the catalogue name of the deployment that answered

``model=`` names a route (or a deployment). Each attempt goes to the deployment the
:class:`~claude_foundry.router.Router` picks; a failure that nothing reached the caller from
(including a stream that failed before its first content) moves to the next one. ``conversation=``
(routed clients only, never sent) keeps a conversation on one deployment while it is healthy, so
its prompt cache is reused. Each deployment gets its own ``AnthropicFoundry`` (its retries, its
connection pool) sharing one quota governor keyed by the catalogue's pools.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Generator, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Self, TypeVar

from .._admission import ROOM_ELSEWHERE
from .._client import AnthropicFoundry, AsyncAnthropicFoundry
from .._config import NOT_GIVEN, NotGiven
from .._errors import ConfigurationError
from .._observe import ROUTING
from ..quota.governor import QuotaGovernor
from ..resources import AsyncRawResponse, RawResponse, parsed_value
from .catalogue import Catalogue, Deployment
from .features import features_used
from .router import Attempts, RecoveryPending, Router

__all__ = ["AsyncRoutedFoundry", "RoutedFoundry"]

Params = dict[str, Any]
Select = Callable[[Any], Any]
"""From a deployment's client to the resource a call uses (``client.messages``, ...)."""


@dataclass(frozen=True, slots=True)
class Pause:
    """A step of a routed call: wait ``seconds`` for a cooling deployment, then go on."""

    seconds: float


def _messages(client: Any) -> Any:
    return client.messages


def _beta_messages(client: Any) -> Any:
    return client.beta.messages


_ClientT = TypeVar("_ClientT", AnthropicFoundry, AsyncAnthropicFoundry)


class _RoutedBase(Generic[_ClientT]):
    _client_class: type[_ClientT]

    def __init__(
        self,
        catalogue: Catalogue,
        *,
        governor: QuotaGovernor | bool | None = True,
        environ: Mapping[str, str] | None = None,
        credential: Any = None,
        max_retries: int = 1,
        client_options: Mapping[str, Any] | None = None,
        router: Router | None = None,
        recovery_wait: float = 30.0,
    ) -> None:
        """``governor``: ``True`` (default) builds one from the catalogue's pools, ``None`` or
        ``False`` turns quota off, or pass your own. ``credential`` serves deployments with
        ``entra = true``. ``max_retries`` is each deployment's own retries before the call moves
        on. ``client_options`` go to every deployment's client (``timeout``, ...).
        ``recovery_wait``: when every deployment a call could use is cooling down after
        failures, how long in all it may wait for the first to come back (0: fail at once)."""
        import os

        if governor is True:
            governor = QuotaGovernor(catalogue.pools)
        self.catalogue = catalogue
        self.governor: QuotaGovernor | None = governor or None
        self.router = router or Router(
            catalogue, governor=self.governor, recovery_wait=recovery_wait
        )
        self._environ = os.environ if environ is None else environ
        self._credential = credential
        self._options = {"max_retries": max_retries, **(client_options or {})}
        self._client_governor: Any = self.governor  # what each deployment's client admits through
        self._clients: dict[str, _ClientT] = {}

    def copy(self, *, governor: Any = NOT_GIVEN, **client_options: Any) -> Self:
        """A routed client over the same catalogue, router (breakers, sticky conversations) and
        quota, whose deployments' clients take ``client_options`` over this one's
        (``max_retries``, ``priority``, ``timeout``, ...). ``governor`` replaces what those
        clients admit their calls through (the router still asks this one's governor where
        there is room). The copy opens its own connections; close it as the original."""
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone._options = {**self._options, **client_options}
        if not isinstance(governor, NotGiven):
            clone._client_governor = governor
        clone._clients = {}
        return clone

    with_options = copy

    def client_for(self, deployment: Deployment) -> _ClientT:
        """The deployment's own client (built on first use, then kept)."""
        client = self._clients.get(deployment.name)
        if client is None:
            options: dict[str, Any] = dict(self._options)
            if deployment.base_url is not None:
                options["base_url"] = deployment.base_url
            else:
                options["resource"] = deployment.resource
            if deployment.entra:
                if self._credential is None:
                    raise ConfigurationError(
                        f"deployment {deployment.name!r} uses Entra ID: pass credential="
                        "DefaultAzureCredential() (azure-identity) to the routed client"
                    )
                options["credential"] = self._credential
            else:
                variable = deployment.api_key_env or "ANTHROPIC_FOUNDRY_API_KEY"
                key = self._environ.get(variable)
                if not key:
                    raise ConfigurationError(
                        f"deployment {deployment.name!r} reads its key from ${variable}, "
                        "which is not set"
                    )
                options["api_key"] = key
            client = self._client_class(governor=self._client_governor, **options)
            # The catalogue knows the pool (deployments of one name may sit in different ones).
            client._pipeline.pool = deployment.pool
            # A stream that fails before its first content moves to the next deployment.
            client._pipeline.hand_over_failed_streams = False
            self._clients[deployment.name] = client
        return client

    def _flow(self, params: dict[str, Any]) -> Generator[tuple[_ClientT, Params] | Pause, Any, Any]:
        """The routing decisions of one call, without I/O: yields each attempt's client and
        parameters; the sync or async ``_run`` makes the call and sends back its result (or
        throws in its exception). Returns the tagged result."""
        conversation = params.pop("conversation", None)
        route = params.get("model")
        if not isinstance(route, str):
            raise TypeError("model must be a route or deployment name (a string)")
        attempts = self.router.start(route, features_used(params), conversation)
        while True:
            try:
                deployment = self.router.pick(attempts)
            except RecoveryPending as pending:
                yield Pause(pending.wait)  # the driver sleeps (or awaits), then we pick again
                continue
            # What the usage record of this attempt says (observers, the ledger). The driver
            # makes the call in the context these are set in (a generator has no context of
            # its own).
            token = ROUTING.set((attempts.route, deployment.name, attempts.failovers))
            # A full pool sends the call on at once while another pool is left (one decision).
            elsewhere = ROOM_ELSEWHERE.set(attempts.room_elsewhere)
            try:
                result = yield (
                    self.client_for(deployment),
                    {
                        **params,
                        "model": deployment.deployment,
                    },
                )
            except Exception as exc:
                if not self.router.failed(attempts, exc):
                    raise
                continue
            except BaseException:
                self.router.abandoned(attempts)
                raise
            finally:
                ROOM_ELSEWHERE.reset(elsewhere)
                ROUTING.reset(token)
            self.router.succeeded(attempts)
            return _tag(result, attempts)


def _tag(result: Any, attempts: Attempts) -> Any:
    """Let the reply say how it was routed: ``deployment`` (the catalogue name of the one that
    answered), ``route`` and ``failovers`` (how often the call moved on) on messages."""
    assert attempts.deployment is not None
    raw = isinstance(result, RawResponse | AsyncRawResponse)
    tagged = parsed_value(result) if raw else result
    with contextlib.suppress(AttributeError, TypeError):
        tagged.__dict__["deployment"] = attempts.deployment.name
        tagged.__dict__["route"] = attempts.route
        tagged.__dict__["failovers"] = attempts.failovers
    if tagged is not result:
        return result
    with contextlib.suppress(AttributeError, TypeError):
        result.__dict__["deployment"] = attempts.deployment.name
        result.__dict__["route"] = attempts.route
        result.__dict__["failovers"] = attempts.failovers
    return result


class RoutedFoundry(_RoutedBase[AnthropicFoundry]):
    """Synchronous; see the module docstring."""

    _client_class = AnthropicFoundry

    @property
    def messages(self) -> RoutedMessages:
        return RoutedMessages(self)

    @property
    def beta(self) -> RoutedBeta:
        """``client.beta.messages``: the beta surface (``betas=[...]``), routed the same way."""
        return RoutedBeta(RoutedMessages(self, _beta_messages))

    @property
    def with_raw_response(self) -> RoutedRaw:
        """``client.with_raw_response.messages.create(...)``: the HTTP response of the deployment
        that answered; ``.parse()`` says which one (``deployment``, ``route``, ``failovers``)."""
        return RoutedRaw(
            RoutedRawMessages(self, _messages), RoutedRawMessages(self, _beta_messages)
        )

    def _run(
        self, params: dict[str, Any], call: Callable[[AnthropicFoundry, dict[str, Any]], Any]
    ) -> Any:
        flow = self._flow(params)
        result: Any = None
        error: BaseException | None = None
        while True:
            try:
                step = flow.send(result) if error is None else flow.throw(error)
            except StopIteration as stop:
                return stop.value
            result = error = None
            if isinstance(step, Pause):
                time.sleep(step.seconds)
                continue
            client, attempt = step
            try:
                result = call(client, attempt)
            except BaseException as exc:
                error = exc

    def close(self) -> None:
        for client in self._clients.values():
            client.close()

    def __enter__(self) -> RoutedFoundry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RoutedBeta:
    def __init__(self, messages: Any) -> None:
        self.messages = messages


class RoutedRaw:
    """``with_raw_response`` of a routed client: ``.messages`` and ``.beta.messages``."""

    def __init__(self, messages: Any, beta_messages: Any) -> None:
        self.messages = messages
        self.beta = RoutedBeta(beta_messages)


class RoutedRawMessages:
    """``create`` and ``count_tokens`` returning the raw response (sync or async owner)."""

    def __init__(self, owner: Any, select: Select) -> None:
        self._owner = owner
        self._select = select

    def create(self, **params: Any) -> Any:
        select = self._select
        return self._owner._run(
            params, lambda client, p: select(client).with_raw_response.create(**p)
        )

    def count_tokens(self, **params: Any) -> Any:
        select = self._select
        return self._owner._run(
            params, lambda client, p: select(client).with_raw_response.count_tokens(**p)
        )


class RoutedMessages:
    def __init__(self, owner: RoutedFoundry, select: Select = _messages) -> None:
        self._owner = owner
        self._select = select

    @property
    def with_raw_response(self) -> RoutedRawMessages:
        return RoutedRawMessages(self._owner, self._select)

    def create(self, **params: Any) -> Any:
        return self._owner._run(params, lambda client, p: self._select(client).create(**p))

    def parse(self, **params: Any) -> Any:
        return self._owner._run(params, lambda client, p: self._select(client).parse(**p))

    def count_tokens(self, **params: Any) -> Any:
        return self._owner._run(params, lambda client, p: self._select(client).count_tokens(**p))

    @contextlib.contextmanager
    def stream(self, **params: Any) -> Iterator[Any]:
        """``with client.messages.stream(...) as stream:``; fails over until the first content."""
        managers: list[Any] = []

        def open_stream(client: AnthropicFoundry, p: dict[str, Any]) -> Any:
            manager = self._select(client).stream(**p)
            stream = manager.__enter__()
            managers.append(manager)
            return stream

        stream = self._owner._run(params, open_stream)
        try:
            yield stream
        finally:
            managers[-1].__exit__(None, None, None)


class AsyncRoutedFoundry(_RoutedBase[AsyncAnthropicFoundry]):
    """The asyncio twin of :class:`RoutedFoundry`."""

    _client_class = AsyncAnthropicFoundry

    @property
    def messages(self) -> AsyncRoutedMessages:
        return AsyncRoutedMessages(self)

    @property
    def beta(self) -> RoutedBeta:
        return RoutedBeta(AsyncRoutedMessages(self, _beta_messages))

    @property
    def with_raw_response(self) -> RoutedRaw:
        return RoutedRaw(
            RoutedRawMessages(self, _messages), RoutedRawMessages(self, _beta_messages)
        )

    async def _run(
        self, params: dict[str, Any], call: Callable[[AsyncAnthropicFoundry, dict[str, Any]], Any]
    ) -> Any:
        flow = self._flow(params)
        result: Any = None
        error: BaseException | None = None
        while True:
            try:
                step = flow.send(result) if error is None else flow.throw(error)
            except StopIteration as stop:
                return stop.value
            result = error = None
            if isinstance(step, Pause):
                await asyncio.sleep(step.seconds)
                continue
            client, attempt = step
            try:
                result = await call(client, attempt)
            except BaseException as exc:
                error = exc

    async def close(self) -> None:
        for client in self._clients.values():
            await client.close()

    async def __aenter__(self) -> AsyncRoutedFoundry:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class AsyncRoutedMessages:
    def __init__(self, owner: AsyncRoutedFoundry, select: Select = _messages) -> None:
        self._owner = owner
        self._select = select

    @property
    def with_raw_response(self) -> RoutedRawMessages:
        return RoutedRawMessages(self._owner, self._select)

    async def create(self, **params: Any) -> Any:
        return await self._owner._run(params, lambda client, p: self._select(client).create(**p))

    async def parse(self, **params: Any) -> Any:
        return await self._owner._run(params, lambda client, p: self._select(client).parse(**p))

    async def count_tokens(self, **params: Any) -> Any:
        return await self._owner._run(
            params, lambda client, p: self._select(client).count_tokens(**p)
        )

    @contextlib.asynccontextmanager
    async def stream(self, **params: Any) -> AsyncIterator[Any]:
        managers: list[Any] = []

        async def open_stream(client: AsyncAnthropicFoundry, p: dict[str, Any]) -> Any:
            manager = self._select(client).stream(**p)
            stream = await manager.__aenter__()
            managers.append(manager)
            return stream

        stream = await self._owner._run(params, open_stream)
        try:
            yield stream
        finally:
            await managers[-1].__aexit__(None, None, None)
