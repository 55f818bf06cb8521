"""The Redis backend: several processes or hosts share quota pools through one Redis.

Each decision is one Lua script run atomically by Redis (``reserve.lua``, ``adjust.lua``,
``usage.lua``, each after the shared ``prune.lua``), so a reservation is one round trip and
checks and charges all three budgets or none, whatever the number of clients. The time is the
Redis server's (``TIME``), so clients' clocks may disagree. A pool is one hash key,
``{prefix}{<pool>}:window`` (the hash tag keeps a pool on one Redis Cluster slot), expiring once
its last charge has left the window.

The driver is redis-py (sync and asyncio), imported on first use
(``pip install 'claude-foundry[redis]'``). Connections time out after ``socket_timeout``
(default 1 s) and are not retried, so an outage never hangs a call: every driver error becomes
a :class:`~claude_foundry.quota.QuotaBackendError` at one place (:func:`_store_errors`), and the
governor applies its outage policy (fail open at a local share of the limits, or fail closed).

    backend = RedisBackend.from_url("redis://127.0.0.1:6379/0", prefix="myapp:quota:")
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from functools import cache
from importlib import resources
from typing import Any

from .._config import redact_url
from .._errors import ConfigurationError
from .backend import QuotaBackend, Reservation, WindowShape
from .errors import QuotaBackendError
from .window import Costs, Limits

__all__ = ["RedisBackend"]

_MIN_REDIS_VERSION = (5, 0)


def _import_redis() -> Any:
    """redis-py, or an error that says how to install it (the extra is optional)."""
    try:
        import redis
        import redis.asyncio
        import redis.backoff
        import redis.retry
    except ImportError:
        raise ConfigurationError(
            "The Redis quota backend needs redis-py: pip install 'claude-foundry[redis]'"
        ) from None
    version = tuple(int(part) for part in redis.__version__.split(".")[:2] if part.isdigit())
    if version < _MIN_REDIS_VERSION:
        raise ConfigurationError(
            f"The Redis quota backend needs redis-py >= 5.0, not {redis.__version__}: "
            "pip install -U 'claude-foundry[redis]'"
        )
    return redis


@cache
def _script(name: str) -> str:
    files = resources.files(__package__)
    return files.joinpath("prune.lua").read_text("utf-8") + files.joinpath(name).read_text("utf-8")


def _register(client: Any) -> dict[str, Any]:
    """The three scripts on a sync or asyncio client (each sent once, then run by its hash)."""
    return {
        name: client.register_script(_script(f"{name}.lua"))
        for name in ("reserve", "adjust", "usage")
    }


class RedisBackend(QuotaBackend):
    """Pools in Redis; see the module docstring. Thread-safe (redis-py pools its connections);
    the asyncio client is made per event loop on first async use."""

    name = "redis"

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        prefix: str = "claude-foundry:quota:",
        socket_timeout: float = 1.0,
        max_connections: int = 16,
    ) -> None:
        self._redis = _import_redis()
        self.url = url
        self.prefix = prefix
        # Few connections, shared: a script takes microseconds, so callers queue for a
        # connection (at most socket_timeout) rather than open one each.
        self._options: dict[str, Any] = {
            "socket_timeout": socket_timeout,
            "socket_connect_timeout": socket_timeout,
            "retry": self._redis.retry.Retry(self._redis.backoff.NoBackoff(), 0),
            "max_connections": max_connections,
            "timeout": socket_timeout,
        }
        with self._store_errors():
            pool = self._redis.BlockingConnectionPool.from_url(url, **self._options)
            self._client = self._redis.Redis(connection_pool=pool)
        self._scripts = _register(self._client)
        self._async: tuple[asyncio.AbstractEventLoop, Any, dict[str, Any]] | None = None

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        prefix: str = "claude-foundry:quota:",
        socket_timeout: float = 1.0,
        max_connections: int = 16,
    ) -> RedisBackend:
        return cls(
            url, prefix=prefix, socket_timeout=socket_timeout, max_connections=max_connections
        )

    def __repr__(self) -> str:
        return f"RedisBackend({redact_url(self.url)!r}, prefix={self.prefix!r})"

    def key(self, pool: str) -> str:
        return f"{self.prefix}{{{pool}}}:window"

    @contextlib.contextmanager
    def _store_errors(self) -> Iterator[None]:
        """The one place driver errors become ours (the URL without its password)."""
        try:
            yield
        except (self._redis.RedisError, OSError) as exc:
            raise QuotaBackendError(
                f"Redis quota store at {redact_url(self.url)} failed: {type(exc).__name__}: "
                f"{exc}. Check that Redis is running and reachable; the governor's on_outage "
                "policy decides whether calls go on meanwhile."
            ) from exc

    def _async_scripts(self) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        if self._async is None or self._async[0] is not loop:
            pool = self._redis.asyncio.BlockingConnectionPool.from_url(self.url, **self._options)
            client = self._redis.asyncio.Redis(connection_pool=pool)
            self._async = (loop, client, _register(client))
        return self._async[2]

    @staticmethod
    def _window_args(shape: WindowShape) -> list[float]:
        return [shape.hold_s * 1000.0, shape.slot_s * 1000.0]

    @staticmethod
    def _reserve_args(shape: WindowShape, costs: Costs, limits: Limits) -> list[Any]:
        return [
            *RedisBackend._window_args(shape),
            *costs,
            *(-1 if limit is None else limit for limit in limits),
        ]

    @staticmethod
    def _reservation(reply: list[Any]) -> Reservation:
        if int(reply[0]) == 1:
            return Reservation(int(reply[1]))
        return Reservation(None, float(reply[1]) / 1000.0, int(reply[2]))

    def _run(self, script: str, pool: str, args: list[Any]) -> Any:
        with self._store_errors():
            return self._scripts[script](keys=[self.key(pool)], args=args)

    async def _arun(self, script: str, pool: str, args: list[Any]) -> Any:
        with self._store_errors():
            return await self._async_scripts()[script](keys=[self.key(pool)], args=args)

    @staticmethod
    def _adjust_args(
        shape: WindowShape, slot: int, deltas: Costs, shift: float, charge: Costs
    ) -> list[Any]:
        return [*RedisBackend._window_args(shape), slot, *deltas, shift * 1000.0, *charge]

    @staticmethod
    def _usage(reply: list[Any]) -> Costs:
        return (int(reply[0]), int(reply[1]), int(reply[2]))

    def reserve(self, pool: str, costs: Costs, limits: Limits, shape: WindowShape) -> Reservation:
        reply = self._run("reserve", pool, self._reserve_args(shape, costs, limits))
        return self._reservation(reply)

    async def areserve(
        self, pool: str, costs: Costs, limits: Limits, shape: WindowShape
    ) -> Reservation:
        reply = await self._arun("reserve", pool, self._reserve_args(shape, costs, limits))
        return self._reservation(reply)

    def adjust(
        self,
        pool: str,
        slot: int,
        deltas: Costs,
        shape: WindowShape,
        shift: float = 0.0,
        charge: Costs = (0, 0, 0),
    ) -> None:
        self._run("adjust", pool, self._adjust_args(shape, slot, deltas, shift, charge))

    async def aadjust(
        self,
        pool: str,
        slot: int,
        deltas: Costs,
        shape: WindowShape,
        shift: float = 0.0,
        charge: Costs = (0, 0, 0),
    ) -> None:
        await self._arun("adjust", pool, self._adjust_args(shape, slot, deltas, shift, charge))

    def usage(self, pool: str, shape: WindowShape) -> Costs:
        return self._usage(self._run("usage", pool, self._window_args(shape)))

    async def ausage(self, pool: str, shape: WindowShape) -> Costs:
        return self._usage(await self._arun("usage", pool, self._window_args(shape)))

    def delete(self, *pools: str) -> None:
        """Forget pools' windows (tests and resets)."""
        if pools:
            with self._store_errors():
                self._client.delete(*(self.key(pool) for pool in pools))

    def close(self) -> None:
        self._client.close()
        self._client.connection_pool.disconnect()

    async def aclose(self) -> None:
        self.close()
        if self._async is not None:
            client = self._async[1]
            self._async = None
            await client.aclose()
            await client.connection_pool.disconnect()
