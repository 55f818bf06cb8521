"""``client.beta.messages.tool_runner(...)``: ask, run the tools the model calls, repeat.

Threaded by default, as the official runner is: Foundry serves message threads, so the first turn
creates one with the whole conversation and each later turn sends only what is new
(:mod:`._tool_thread` decides, and recovers from the thread refusals as the official client does).
The runner keeps the whole conversation itself either way. ``thread=False`` sends the whole
conversation on every turn.

The loop's decisions live once in :class:`~._tool_loop.ToolLoop`, which does no I/O. The four
runners here (sync, async, each streaming or not) only send requests, pass stream events on and
call the tools. With ``run_tools_eagerly=True`` a streaming runner passes each reply's events
through a wrapper that runs the call the loop says is due before handing on the next event, in
the reader's thread or task, one call at a time (:mod:`._tool_eager` has the rule).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Callable,
    Generator,
    Iterable,
    Iterator,
    Mapping,
)
from typing import TYPE_CHECKING, Any

from ._errors import APIStatusError
from ._tool_loop import (
    COMPACTION_BETA,
    STOP_REASON_STEPS,
    ToolLoop,
    error_content,
    result_content,
    step_after,
    tool_name,
)
from ._tools import is_runnable_tool, refuse_toolsets

if TYPE_CHECKING:
    from ._stream import AsyncMessageStream, MessageStream
    from .types import Message, StreamEvent

__all__ = [
    "COMPACTION_BETA",
    "STOP_REASON_STEPS",
    "AsyncStreamingToolRunner",
    "AsyncToolRunner",
    "StreamingToolRunner",
    "ToolLoop",
    "ToolRunner",
    "error_content",
    "make_runner",
    "result_content",
    "step_after",
]


def _check_sync_tools(tools: Iterable[Any]) -> None:
    for tool in tools:
        if is_runnable_tool(tool) and inspect.iscoroutinefunction(tool.call):
            raise TypeError(
                f"Tool {tool_name(tool)!r} is async; the sync client's tool runner runs only sync "
                "tools. Use AsyncAnthropicFoundry, or decorate a sync function with @beta_tool."
            )


def _call_tool(tool: Any, arguments: Any) -> tuple[Any, bool]:
    """Run a sync tool: its outcome, and whether that is an exception it raised."""
    try:
        return tool.call(arguments), False
    except Exception as exc:
        return exc, True


async def _call_tool_async(tool: Any, arguments: Any) -> tuple[Any, bool]:
    """Await an async tool; a sync one runs in a worker thread so the event loop goes on."""
    try:
        if inspect.iscoroutinefunction(tool.call):
            return await tool.call(arguments), False
        return await asyncio.to_thread(tool.call, arguments), False
    except Exception as exc:
        return exc, True


class _RunnerBase:
    def __init__(
        self,
        messages: Any,
        params: dict[str, Any],
        max_iterations: int | None,
        run_tools_eagerly: bool = False,
    ) -> None:
        self._messages_resource = messages
        self._loop = ToolLoop(params, max_iterations, run_tools_eagerly)
        self._closed = False
        self._open_stream: Any = None
        """The reply stream the loop body holds, until the loop has recorded its message."""

    def set_messages_params(
        self, params: Mapping[str, Any] | Callable[[dict[str, Any]], Mapping[str, Any]]
    ) -> None:
        """Replace the parameters of the next requests; a callable gets the current ones
        (``messages`` and ``tools`` included). New messages mean no tool results are added."""
        current = {**self._loop.params, "tools": list(self._loop.tools)}
        self._loop.set_params(params(current) if callable(params) else params)

    def append_messages(self, *messages: Any) -> None:
        """Add messages after the current turn (after its tool results)."""
        self._loop.append(messages)

    def compact_before_next_turn(self, compaction: Mapping[str, Any] | None = None) -> None:
        """Ask for a summary of the conversation before the next turn (``compact-2026-09-04``
        beta); the reply, ``stop_reason == "compaction"``, replaces the history it summarizes."""
        self._loop.schedule_compaction(compaction)

    def add_tools(self, *tools: Any) -> None:
        """Offer more tools from the next request on (``@beta_tool`` functions or definitions);
        one named like a tool the runner has replaces it. The ``tools`` sent change, so a
        threaded conversation goes on under a new thread with the whole history."""
        listed = refuse_toolsets(tools)
        self._check_tools(listed)
        self._loop.add_tools(listed)

    def remove_tools(self, *tools: Any) -> None:
        """Stop offering and running tools, given as the tools or their names."""
        self._loop.remove_tools(tools)

    def _check_tools(self, tools: Iterable[Any]) -> None:
        pass

    @property
    def messages(self) -> list[Any]:
        return self._loop.messages

    def close(self) -> None:
        """Stop the loop; iterating a closed runner yields nothing."""
        self._closed = True

    def _request(self, request: dict[str, Any], stream: bool) -> Any:
        resource = self._messages_resource
        if stream:
            return resource.stream(**request)
        if request.get("output_format") is not None:
            return resource.parse(**request)
        request.pop("output_format", None)
        return resource.create(**request)


class _SyncRunner(_RunnerBase):
    _stream = False

    def __init__(
        self,
        messages: Any,
        params: dict[str, Any],
        max_iterations: int | None,
        run_tools_eagerly: bool = False,
    ) -> None:
        super().__init__(messages, params, max_iterations, run_tools_eagerly)
        _check_sync_tools(self._loop.tools)

    def _check_tools(self, tools: Iterable[Any]) -> None:
        _check_sync_tools(tools)

    def generate_tool_call_response(self) -> dict[str, Any] | None:
        """Run the last reply's tool calls; the ``user`` message of their results (cached).
        Called in the loop body of a streaming runner, it reads the reply to its end first."""
        self._record_open_stream()
        calls = self._loop.tool_calls()
        try:
            tool, arguments = next(calls)
            while True:
                tool, arguments = calls.send(_call_tool(tool, arguments))
        except StopIteration as done:
            response: dict[str, Any] | None = done.value
            return response

    def _run_tools_while_streaming(
        self, events: Generator[StreamEvent, None, None]
    ) -> Generator[StreamEvent, None, None]:
        """Pass the reply's events on, running each call the loop says is due. Asking for the
        next event is how the reader says it is done with the one it holds; that event is read
        first, so no call runs once reading the reply has failed."""
        loop = self._loop
        eager = loop.eager
        assert eager is not None
        try:
            for event in events:
                if (due := loop.due_eager_call()) is not None:
                    tool_use, tool = due
                    loop.record_eager_result(tool_use, tool, *_call_tool(tool, tool_use.input))
                eager.saw(event)
                yield event
        finally:
            events.close()

    def _turns(self) -> Iterator[Any]:
        loop = self._loop
        while not self._closed and (request := loop.next_request()) is not None:
            if self._stream:
                with contextlib.ExitStack() as opened:
                    try:
                        stream = opened.enter_context(self._request(request, stream=True))
                    except APIStatusError as exc:
                        if loop.recovers_from(exc):
                            continue
                        raise
                    if loop.begin_streamed_reply(stream._snapshot) is not None:
                        stream._interpose(self._run_tools_while_streaming)
                    self._open_stream = stream
                    yield stream
                    self._record_open_stream()
            else:
                try:
                    message = self._request(request, stream=False)
                except APIStatusError as exc:
                    if loop.recovers_from(exc):
                        continue
                    raise
                loop.record_reply(message)
                yield message
            response = self.generate_tool_call_response() if loop.step == "run_tools" else None
            loop.finish_turn(response)

    def _record_open_stream(self) -> None:
        stream, self._open_stream = self._open_stream, None
        if stream is not None:
            self._loop.record_reply(stream.get_final_message())

    def until_done(self) -> Message:
        """Run the loop to its end; the last reply."""
        for _ in self._turns():
            pass
        message: Message = self._loop.final_message()
        return message


class ToolRunner(_SyncRunner):
    """Iterate it for each reply (a :class:`~claude_foundry.types.Message`); the tools run
    after your loop body, unless you called :meth:`generate_tool_call_response` in it."""

    def __iter__(self) -> Iterator[Message]:
        return self._turns()


class _Deferring(_RunnerBase):
    """``defer_tool_call()`` and ``deferred_tool_calls`` of the streaming runners."""

    def defer_tool_call(self, tool_use: Any) -> None:
        """Hold a call of the current reply (its ``tool_use`` block or id) until the tool
        response, where it runs as it would without ``run_tools_eagerly``. Hold it while you
        handle any event up to and including the one that shows the model moved on from it (the
        next block's start, or ``message_delta`` with ``stop_reason`` ``tool_use``). Does nothing
        for a call that has run, and without ``run_tools_eagerly``."""
        self._loop.defer(tool_use)

    @property
    def deferred_tool_calls(self) -> list[Any]:
        """The held calls of the current reply that have finished streaming, as their
        ``tool_use`` blocks in the model's order; a call that has run is not in it."""
        return self._loop.deferred()


class StreamingToolRunner(_SyncRunner, _Deferring):
    """``tool_runner(stream=True)``: iterate it for each reply's open
    :class:`~claude_foundry.MessageStream`."""

    _stream = True

    def __iter__(self) -> Iterator[MessageStream]:
        return self._turns()


class _AsyncRunner(_RunnerBase):
    _stream = False

    async def generate_tool_call_response(self) -> dict[str, Any] | None:
        """Run the last reply's tool calls (sync tools in a worker thread); the results message.
        Called in the loop body of a streaming runner, it reads the reply to its end first."""
        await self._record_open_stream()
        calls = self._loop.tool_calls()
        try:
            tool, arguments = next(calls)
            while True:
                tool, arguments = calls.send(await _call_tool_async(tool, arguments))
        except StopIteration as done:
            response: dict[str, Any] | None = done.value
            return response

    async def _run_tools_while_streaming(
        self, events: AsyncGenerator[StreamEvent, None]
    ) -> AsyncGenerator[StreamEvent, None]:
        """The async twin of the sync runner's: the reader's task awaits each due call."""
        loop = self._loop
        eager = loop.eager
        assert eager is not None
        try:
            async for event in events:
                if (due := loop.due_eager_call()) is not None:
                    tool_use, tool = due
                    outcome, failed = await _call_tool_async(tool, tool_use.input)
                    loop.record_eager_result(tool_use, tool, outcome, failed)
                eager.saw(event)
                yield event
        finally:
            await events.aclose()

    async def _turns(self) -> AsyncIterator[Any]:
        loop = self._loop
        while not self._closed and (request := loop.next_request()) is not None:
            if self._stream:
                async with contextlib.AsyncExitStack() as opened:
                    try:
                        stream = await opened.enter_async_context(
                            self._request(request, stream=True)
                        )
                    except APIStatusError as exc:
                        if loop.recovers_from(exc):
                            continue
                        raise
                    if loop.begin_streamed_reply(stream._snapshot) is not None:
                        stream._interpose(self._run_tools_while_streaming)
                    self._open_stream = stream
                    yield stream
                    await self._record_open_stream()
            else:
                try:
                    message = await self._request(request, stream=False)
                except APIStatusError as exc:
                    if loop.recovers_from(exc):
                        continue
                    raise
                loop.record_reply(message)
                yield message
            response = None
            if loop.step == "run_tools":
                response = await self.generate_tool_call_response()
            loop.finish_turn(response)

    async def _record_open_stream(self) -> None:
        stream, self._open_stream = self._open_stream, None
        if stream is not None:
            self._loop.record_reply(await stream.get_final_message())

    async def until_done(self) -> Message:
        async for _ in self._turns():
            pass
        message: Message = self._loop.final_message()
        return message


class AsyncToolRunner(_AsyncRunner):
    """The async client's runner: ``async for message in runner``."""

    def __aiter__(self) -> AsyncIterator[Message]:
        return self._turns()


class AsyncStreamingToolRunner(_AsyncRunner, _Deferring):
    """``async for stream in runner`` with ``stream=True``."""

    _stream = True

    def __aiter__(self) -> AsyncIterator[AsyncMessageStream]:
        return self._turns()


def make_runner(messages: Any, params: dict[str, Any], *, is_async: bool) -> _RunnerBase:
    """The runner for ``tool_runner(**params)`` on ``messages`` (``client.beta.messages``)."""
    stream = bool(params.pop("stream", False))
    max_iterations = params.pop("max_iterations", None)
    run_tools_eagerly = bool(params.pop("run_tools_eagerly", False))
    if run_tools_eagerly and not stream:
        # ValueError, as the official runner raises for the same call.
        raise ValueError(
            "run_tools_eagerly=True needs stream=True: tools run early while the reply streams. "
            "Pass stream=True, or leave run_tools_eagerly out to run them once the reply is "
            "complete."
        )
    for name in ("max_tokens", "messages", "model", "tools"):
        if name not in params:
            raise TypeError(f"tool_runner() missing required keyword argument: {name!r}")
    if is_async:
        cls: type[_RunnerBase] = AsyncStreamingToolRunner if stream else AsyncToolRunner
    else:
        cls = StreamingToolRunner if stream else ToolRunner
    return cls(messages, params, max_iterations, run_tools_eagerly)
