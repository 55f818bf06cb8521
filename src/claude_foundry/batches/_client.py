"""Clients whose ``messages.batches`` works: the Batches API, served on this side.

Code written for Anthropic's Batches API runs with only the client construction changed::

    from claude_foundry.batches import AnthropicFoundry

    client = AnthropicFoundry(resource="my-resource", api_key=..., batch_store="batches.sqlite")
    batch = client.messages.batches.create(requests=[
        {"custom_id": "q1", "params": {"model": "claude-sonnet-5", "max_tokens": 256,
                                       "messages": [{"role": "user", "content": "Hi"}]}},
    ])
    while client.messages.batches.retrieve(batch.id).processing_status != "ended":
        time.sleep(5)
    for entry in client.messages.batches.results(batch.id):
        if entry.result.type == "succeeded":
            print(entry.custom_id, entry.result.message.content[0].text)

The resources live here, not in the client's ``resources/``, because the client must not import
an operations package; these subclasses add them on top.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

from .. import _client
from ..resources.messages import AsyncMessages, Messages
from ._service import BatchPage, BatchService, DeletedMessageBatch, Processing
from ._types import MessageBatch, MessageBatchIndividualResponse

__all__ = ["AnthropicFoundry", "AsyncAnthropicFoundry", "AsyncBatches", "Batches"]

_BATCH_OPTIONS = ("batch_store", "batch_processing", "batch_runner_options", "batch_deadline")


class Batches:
    """``client.messages.batches``: create, retrieve, list, cancel, delete, results."""

    def __init__(self, service: BatchService) -> None:
        self._service = service

    def create(self, *, requests: Iterable[Mapping[str, Any]], **_: Any) -> MessageBatch:
        return self._service.create(requests)

    def retrieve(self, message_batch_id: str, **_: Any) -> MessageBatch:
        return self._service.retrieve(message_batch_id)

    def list(
        self,
        *,
        limit: int = 20,
        after_id: str | None = None,
        before_id: str | None = None,
        **_: Any,
    ) -> BatchPage:
        return self._service.list(limit=limit, after_id=after_id, before_id=before_id)

    def cancel(self, message_batch_id: str, **_: Any) -> MessageBatch:
        return self._service.cancel(message_batch_id)

    def delete(self, message_batch_id: str, **_: Any) -> DeletedMessageBatch:
        return self._service.delete(message_batch_id)

    def results(self, message_batch_id: str, **_: Any) -> Iterator[MessageBatchIndividualResponse]:
        return self._service.results(message_batch_id)

    def wait(self, message_batch_id: str, *, max_wait: float | None = None) -> MessageBatch:
        """Until the batch has ended (not in the API: there you poll ``retrieve``)."""
        return self._service.wait(message_batch_id, max_wait)


class AsyncBatches:
    """The same operations for the async client; store work runs in a thread."""

    def __init__(self, service: BatchService) -> None:
        self._service = service

    async def create(self, *, requests: Iterable[Mapping[str, Any]], **_: Any) -> MessageBatch:
        items = list(requests)
        return await asyncio.to_thread(self._service.create, items)

    async def retrieve(self, message_batch_id: str, **_: Any) -> MessageBatch:
        return await asyncio.to_thread(self._service.retrieve, message_batch_id)

    async def list(
        self,
        *,
        limit: int = 20,
        after_id: str | None = None,
        before_id: str | None = None,
        **_: Any,
    ) -> BatchPage:
        return await asyncio.to_thread(
            lambda: self._service.list(limit=limit, after_id=after_id, before_id=before_id)
        )

    async def cancel(self, message_batch_id: str, **_: Any) -> MessageBatch:
        return await asyncio.to_thread(self._service.cancel, message_batch_id)

    async def delete(self, message_batch_id: str, **_: Any) -> DeletedMessageBatch:
        return await asyncio.to_thread(self._service.delete, message_batch_id)

    async def results(
        self, message_batch_id: str, **_: Any
    ) -> AsyncIterator[MessageBatchIndividualResponse]:
        entries = await asyncio.to_thread(lambda: list(self._service.results(message_batch_id)))

        async def iterate() -> AsyncIterator[MessageBatchIndividualResponse]:
            for entry in entries:
                yield entry

        return iterate()

    async def wait(self, message_batch_id: str, *, max_wait: float | None = None) -> MessageBatch:
        return await asyncio.to_thread(self._service.wait, message_batch_id, max_wait)


class _BatchMessages(Messages):
    @cached_property
    def batches(self) -> Batches:  # type: ignore[override]
        service: BatchService = getattr(self._client, "_batch_service")  # noqa: B009
        return Batches(service)


class _AsyncBatchMessages(AsyncMessages):
    @cached_property
    def batches(self) -> AsyncBatches:  # type: ignore[override]
        service: BatchService = getattr(self._client, "_batch_service")  # noqa: B009
        return AsyncBatches(service)


def _split(kwargs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    options = {name: kwargs.pop(name) for name in _BATCH_OPTIONS if name in kwargs}
    return kwargs, options


def _service(
    factory: Any,
    batch_store: str | Path | None = None,
    batch_processing: Processing = "thread",
    batch_runner_options: Mapping[str, Any] | None = None,
    batch_deadline: float | None = None,
) -> BatchService:
    extra: dict[str, Any] = {}
    if batch_deadline is not None:
        extra["deadline"] = batch_deadline
    return BatchService(
        factory,
        store=batch_store,
        processing=batch_processing,
        runner_options=batch_runner_options,
        **extra,
    )


class AnthropicFoundry(_client.AnthropicFoundry):
    """:class:`claude_foundry.AnthropicFoundry` with ``messages.batches``. Extra keyword
    arguments: ``batch_store`` (a path or ``postgresql://`` URL; default
    ``CLAUDE_FOUNDRY_BATCH_STORE`` or ``~/.local/state/claude-foundry/batches.sqlite``),
    ``batch_processing`` (``"thread"``: this process works on its batches; ``"workers"``:
    ``claude-foundry batch worker`` processes do), ``batch_runner_options`` (for
    :class:`~claude_foundry.batches.BatchRunner`: ``max_concurrency``, ``lease``, ...) and
    ``batch_deadline`` (seconds; 24 h)."""

    _batch_service: BatchService

    def __init__(self, **kwargs: Any) -> None:
        client_kwargs, options = _split(kwargs)
        super().__init__(**client_kwargs)
        self._batch_service = _service(lambda: self, **options)
        self._owns_batch_service = True

    @cached_property
    def messages(self) -> _BatchMessages:
        return _BatchMessages(self)

    def copy(self, **changes: Any) -> AnthropicFoundry:
        clone = super().copy(**changes)
        clone._batch_service = self._batch_service  # a copy shares the batches; its close
        clone._owns_batch_service = False  # leaves them to the original
        return clone

    with_options = copy

    def close(self) -> None:
        if self._owns_batch_service:
            self._batch_service.close()
        super().close()


class AsyncAnthropicFoundry(_client.AsyncAnthropicFoundry):
    """:class:`claude_foundry.AsyncAnthropicFoundry` with ``messages.batches``; the same extra
    arguments as :class:`AnthropicFoundry`. The batch's requests are sent by a worker thread
    with a synchronous client of the same settings."""

    _batch_service: BatchService

    def __init__(self, **kwargs: Any) -> None:
        client_kwargs, options = _split(kwargs)
        super().__init__(**client_kwargs)
        self._sync_kwargs = {k: v for k, v in client_kwargs.items() if k != "http_client"}
        self._sync_twin: _client.AnthropicFoundry | None = None
        self._batch_service = _service(self._twin, **options)
        self._owns_batch_service = True

    def _twin(self) -> _client.AnthropicFoundry:
        """The synchronous client of the same settings that worker threads send with (one,
        shared by every batch of this client; closed with it)."""
        if self._sync_twin is None:
            self._sync_twin = _client.AnthropicFoundry(**self._sync_kwargs)
        return self._sync_twin

    @cached_property
    def messages(self) -> _AsyncBatchMessages:
        return _AsyncBatchMessages(self)

    def copy(self, **changes: Any) -> AsyncAnthropicFoundry:
        clone = super().copy(**changes)
        clone._batch_service = self._batch_service
        clone._owns_batch_service = False
        clone._sync_kwargs = self._sync_kwargs
        clone._sync_twin = None
        return clone

    with_options = copy

    async def close(self) -> None:
        if self._owns_batch_service:
            await asyncio.to_thread(self._batch_service.close)
            if self._sync_twin is not None:
                self._sync_twin.close()
        await super().close()
