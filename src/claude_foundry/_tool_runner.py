"""``client.beta.messages.tool_runner(...)``: ask, run the tools the model calls, repeat.

Threaded by default, as the official runner is: Foundry serves message threads, so the first turn
creates one with the whole conversation and each later turn sends only what is new
(:mod:`._tool_thread` decides, and recovers from the thread refusals as the official client does).
The runner keeps the whole conversation itself either way. ``thread=False`` sends the whole
conversation on every turn.

The loop's decisions (what the next request is, which step a reply's ``stop_reason`` leads to,
which tool answers which call, what a result or a failure becomes, compaction) live once in
:class:`ToolLoop`, which does no I/O. The sync and async runners only send requests and call
the tools.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import warnings
from collections.abc import AsyncIterator, Callable, Generator, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal

import msgspec

from ._errors import APIStatusError
from ._tool_thread import ConversationThread
from ._tools import ToolError, is_runnable_tool, tool_definition

if TYPE_CHECKING:
    from ._stream import AsyncMessageStream, MessageStream
    from .types import Message

__all__ = [
    "AsyncStreamingToolRunner",
    "AsyncToolRunner",
    "StreamingToolRunner",
    "ToolLoop",
    "ToolRunner",
]

log = logging.getLogger(__name__)

Step = Literal["run_tools", "resume", "stop"]

# What a finished turn leads to. "resume": the turn is unfinished (a paused server tool, or a
# compaction edit that paused the turn); the same history goes back and the server carries on.
STOP_REASON_STEPS: dict[str, Step] = {
    "tool_use": "run_tools",
    "pause_turn": "resume",
    "compaction": "resume",
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "stop",
    "model_context_window_exceeded": "stop",
    "refusal": "stop",
}

COMPACTION_BETA = "compact-2026-09-04"
# A compaction request returns only the summary, so parameters that shape a reply are left out.
_NOT_FOR_COMPACTION = ("context_management", "stop_sequences", "output_format")
_ERROR_TEXT_LIMIT = 10_000


def step_after(stop_reason: str | None) -> Step:
    # An absent or new stop reason ends the loop like any finished turn.
    return STOP_REASON_STEPS.get(stop_reason or "", "stop")


def result_content(value: Any) -> Any:
    """A tool's return value as ``tool_result`` content: a string or a list of blocks as they
    are; anything else as JSON text."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        return [tool_definition(block) for block in value]
    return msgspec.json.encode(value, enc_hook=_jsonable).decode()


def _jsonable(value: Any) -> Any:
    to_dict = getattr(value, "to_dict", None) or getattr(value, "model_dump", None)
    if callable(to_dict):
        return to_dict()
    return str(value)


def error_content(exc: BaseException) -> Any:
    if isinstance(exc, ToolError) or type(exc).__name__ == "ToolError":
        return result_content(getattr(exc, "content", str(exc)))
    text = repr(exc)
    return text if len(text) <= _ERROR_TEXT_LIMIT else text[:_ERROR_TEXT_LIMIT] + "…"


def _tool_name(tool: Any) -> str:
    name = getattr(tool, "name", None)
    return str(name) if isinstance(name, str) else str(tool.to_dict()["name"])


def _as_param(message: Any) -> Any:
    """A reply (ours or the official SDK's) as a message param; params pass through."""
    if isinstance(message, Mapping):
        return message
    return {"role": message.role, "content": list(message.content)}


class ToolLoop:
    """The tool loop's state and decisions, without I/O.

    A driver asks :meth:`next_request` for the parameters of the next request (``None``: the loop
    is over), sends them, hands the reply to :meth:`record_reply`, gives the reply to the user,
    then runs :meth:`pending_calls` (if the step is ``run_tools``) and hands the result message
    to :meth:`finish_turn`.
    """

    def __init__(self, params: dict[str, Any], max_iterations: int | None) -> None:
        if params.get("compaction") is not None:
            raise TypeError(
                "compaction cannot be set on a tool runner: every request of the loop would "
                "compact again. Call runner.compact_before_next_turn() instead."
            )
        thread = params.pop("thread", None)
        _check_thread_param(thread)
        self.thread = ConversationThread(enabled=thread is None)
        self.params = params
        self.params["messages"] = list(params["messages"])
        self.tools: list[Any] = list(params.pop("tools", ()))
        self.max_iterations = max_iterations
        self.iterations = 0
        self.last_message: Any = None
        self.step: Step | None = None
        self.finished = False
        self.cached_response: dict[str, Any] | None = None
        self._messages_replaced = False
        self._appended: list[Any] = []
        self._pending_compaction: dict[str, Any] | None = None
        self._compacting: list[Any] | None = None

    # --- what the user may change between turns

    @property
    def messages(self) -> list[Any]:
        messages: list[Any] = self.params["messages"]
        return messages

    def runnable_tools(self) -> dict[str, Any]:
        return {_tool_name(tool): tool for tool in self.tools if is_runnable_tool(tool)}

    def set_params(self, params: Mapping[str, Any]) -> None:
        new = dict(params)
        if new.get("compaction") is not None:
            raise TypeError(
                "compaction cannot be set on a tool runner; use compact_before_next_turn()."
            )
        _check_thread_param(new.pop("thread", None))
        if "tools" in new:
            self.tools = list(new.pop("tools"))
        new["messages"] = list(new.get("messages", self.messages))
        if new["messages"] != self.messages:
            self._messages_replaced = True
            self.thread.restart()
        self.params = new

    def add_tools(self, tools: Iterable[Any]) -> None:
        """Offer ``tools`` from the next request on, each in place of a tool of the same name."""
        added = list(tools)
        names = {_tool_name(tool) for tool in added}
        self.tools = [tool for tool in self.tools if _tool_name(tool) not in names] + added

    def remove_tools(self, tools: Iterable[Any]) -> None:
        """Stop offering (and running) ``tools``, given as tools or names."""
        names = {tool if isinstance(tool, str) else _tool_name(tool) for tool in tools}
        self.tools = [tool for tool in self.tools if _tool_name(tool) not in names]

    def append(self, messages: Iterable[Any]) -> None:
        self._appended.extend(_as_param(message) for message in messages)

    def schedule_compaction(self, compaction: Mapping[str, Any] | None) -> None:
        self._pending_compaction = {"type": "summarize"} if compaction is None else dict(compaction)

    # --- the loop

    def next_request(self) -> dict[str, Any] | None:
        if self.finished:
            return None
        if self.max_iterations is not None and self.iterations >= self.max_iterations:
            self.finished = True
            return None
        request = {**self.params, "messages": list(self.messages)}
        if self.tools:
            request["tools"] = [tool_definition(tool) for tool in self.tools]
        if self._pending_compaction is not None and self.step != "resume":
            request = self._compaction_request(request, self._pending_compaction)
            self._compacting = list(self.messages)
            self._pending_compaction = None
            # Whole and unthreaded: the summary replaces the history a thread would hold.
            self.thread.unthreaded_request()
            return request
        return self.thread.shape(request)

    def recovers_from(self, error: APIStatusError) -> bool:
        """Whether the request that raised ``error`` (a thread refusal) is to be sent again."""
        return self.thread.recovers_from(error)

    def _compaction_request(
        self, request: dict[str, Any], compaction: dict[str, Any]
    ) -> dict[str, Any]:
        for name in _NOT_FOR_COMPACTION:
            request.pop(name, None)
        choice = request.get("tool_choice")
        if isinstance(choice, Mapping) and choice.get("type") in ("any", "tool"):
            del request["tool_choice"]
        config = request.get("output_config")
        if isinstance(config, Mapping) and "format" in config:
            request["output_config"] = {k: v for k, v in config.items() if k != "format"}
        betas = list(request.get("betas") or ())
        if COMPACTION_BETA not in betas:
            betas.append(COMPACTION_BETA)
        request["betas"] = betas
        request["compaction"] = compaction
        return request

    def record_reply(self, message: Any) -> None:
        self.last_message = message
        self.iterations += 1
        self.cached_response = None
        self._messages_replaced = False
        if self._compacting is not None:
            # The summary replaces the history it summarizes; what came after it stays.
            later = self.messages[len(self._compacting) :]
            self.params["messages"] = [_as_param(message), *later]
            self._compacting = None
            self.thread.restart()
            self.step = "resume"  # the model has not answered yet: ask again from the summary
            return
        self.messages.append(_as_param(message))
        self.thread.record_reply(message, len(self.messages))
        self.step = step_after(message.stop_reason)

    def pending_calls(self) -> list[tuple[Any, Any | None]]:
        """The reply's client tool calls, each with the tool that answers it (``None``: none)."""
        message = self.last_message
        if message is None or self.step != "run_tools":
            return []
        tools = self.runnable_tools()
        return [
            (block, tools.get(block.name))
            for block in message.content
            if getattr(block, "type", None) == "tool_use"
        ]

    def result_block(self, tool_use: Any, tool: Any | None, outcome: Any, failed: bool) -> Any:
        if tool is None:
            warnings.warn(
                f"Tool {tool_use.name!r} not found in the tool runner; tools: "
                f"{sorted(self.runnable_tools())}. Pass a @beta_tool function (or any object with "
                "to_dict() and call()) to run it, or answer it yourself with append_messages().",
                UserWarning,
                stacklevel=4,
            )
            return {
                "type": "tool_result",
                "tool_use_id": tool_use.id,
                "content": f"Error: Tool '{tool_use.name}' not found",
                "is_error": True,
            }
        if failed:
            if not isinstance(outcome, ToolError):
                log.warning("Tool %s failed: %r", tool_use.name, outcome)
            return {
                "type": "tool_result",
                "tool_use_id": tool_use.id,
                "content": error_content(outcome),
                "is_error": True,
            }
        block = {"type": "tool_result", "tool_use_id": tool_use.id}
        content = result_content(outcome)
        if content is not None:
            block["content"] = content
        return block

    def tool_calls(self) -> Generator[tuple[Any, Any], tuple[Any, bool], dict[str, Any] | None]:
        """The reply's tool calls, without I/O: yields each tool and its input; the sync or
        async runner calls it and sends back ``(outcome, failed)``. Returns the ``user`` message
        of the results (cached, so asking twice runs nothing twice)."""
        if self.cached_response is not None:
            return self.cached_response
        blocks = []
        for tool_use, tool in self.pending_calls():
            if tool is None:
                blocks.append(self.result_block(tool_use, None, None, failed=False))
                continue
            outcome, failed = yield tool, tool_use.input
            blocks.append(self.result_block(tool_use, tool, outcome, failed))
        return self.results_message(blocks)

    def results_message(self, blocks: list[Any]) -> dict[str, Any] | None:
        response = {"role": "user", "content": blocks} if blocks else None
        self.cached_response = response
        return response

    def finish_turn(self, response: dict[str, Any] | None) -> None:
        step = self.step
        if step == "stop" or (step == "run_tools" and response is None and not self._appended):
            self.finished = True
        elif step == "run_tools" and response is not None and not self._messages_replaced:
            self.messages.append(response)
        self.messages.extend(self._appended)
        self._appended.clear()
        self._messages_replaced = False
        self.cached_response = None

    def final_message(self) -> Any:
        if self.last_message is None:
            raise RuntimeError("The tool runner sent no request (max_iterations=0?).")
        return self.last_message


def _check_thread_param(thread: object) -> None:
    if thread not in (None, False):
        raise TypeError(
            f"thread cannot be set to {thread!r} on a tool runner: it threads the conversation "
            "itself. Pass thread=False to tool_runner() to send the whole conversation each turn."
        )


def _check_sync_tools(tools: Iterable[Any]) -> None:
    for tool in tools:
        if is_runnable_tool(tool) and inspect.iscoroutinefunction(tool.call):
            raise TypeError(
                f"Tool {_tool_name(tool)!r} is async; the sync client's tool runner runs only sync "
                "tools. Use AsyncAnthropicFoundry, or decorate a sync function with @beta_tool."
            )


class _RunnerBase:
    def __init__(
        self,
        messages: Any,
        params: dict[str, Any],
        max_iterations: int | None,
    ) -> None:
        self._messages_resource = messages
        self._loop = ToolLoop(params, max_iterations)
        self._closed = False

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
        self._check_tools(tools)
        self._loop.add_tools(tools)

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

    def __init__(self, messages: Any, params: dict[str, Any], max_iterations: int | None):
        super().__init__(messages, params, max_iterations)
        _check_sync_tools(self._loop.tools)

    def _check_tools(self, tools: Iterable[Any]) -> None:
        _check_sync_tools(tools)

    def generate_tool_call_response(self) -> dict[str, Any] | None:
        """Run the last reply's tool calls; the ``user`` message of their results (cached)."""
        calls = self._loop.tool_calls()
        try:
            tool, arguments = next(calls)
            while True:
                try:
                    outcome, failed = tool.call(arguments), False
                except Exception as exc:
                    outcome, failed = exc, True
                tool, arguments = calls.send((outcome, failed))
        except StopIteration as done:
            response: dict[str, Any] | None = done.value
            return response

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
                    yield stream
                    message = stream.get_final_message()
                loop.record_reply(message)
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


class StreamingToolRunner(_SyncRunner):
    """``tool_runner(stream=True)``: iterate it for each reply's open
    :class:`~claude_foundry.MessageStream`."""

    _stream = True

    def __iter__(self) -> Iterator[MessageStream]:
        return self._turns()


class _AsyncRunner(_RunnerBase):
    _stream = False

    async def generate_tool_call_response(self) -> dict[str, Any] | None:
        """Run the last reply's tool calls (sync tools in a worker thread); the results message."""
        calls = self._loop.tool_calls()
        try:
            tool, arguments = next(calls)
            while True:
                try:
                    if inspect.iscoroutinefunction(tool.call):
                        outcome = await tool.call(arguments)
                    else:
                        outcome = await asyncio.to_thread(tool.call, arguments)
                    failed = False
                except Exception as exc:
                    outcome, failed = exc, True
                tool, arguments = calls.send((outcome, failed))
        except StopIteration as done:
            response: dict[str, Any] | None = done.value
            return response

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
                    yield stream
                    message = await stream.get_final_message()
                loop.record_reply(message)
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

    async def until_done(self) -> Message:
        async for _ in self._turns():
            pass
        message: Message = self._loop.final_message()
        return message


class AsyncToolRunner(_AsyncRunner):
    """The async client's runner: ``async for message in runner``."""

    def __aiter__(self) -> AsyncIterator[Message]:
        return self._turns()


class AsyncStreamingToolRunner(_AsyncRunner):
    """``async for stream in runner`` with ``stream=True``."""

    _stream = True

    def __aiter__(self) -> AsyncIterator[AsyncMessageStream]:
        return self._turns()


def make_runner(messages: Any, params: dict[str, Any], *, is_async: bool) -> _RunnerBase:
    """The runner for ``tool_runner(**params)`` on ``messages`` (``client.beta.messages``)."""
    stream = bool(params.pop("stream", False))
    max_iterations = params.pop("max_iterations", None)
    if params.pop("run_tools_eagerly", False):
        raise TypeError(
            "run_tools_eagerly is not supported by this runner: tools run once the reply is "
            "complete."
        )
    for name in ("max_tokens", "messages", "model", "tools"):
        if name not in params:
            raise TypeError(f"tool_runner() missing required keyword argument: {name!r}")
    if is_async:
        cls: type[_RunnerBase] = AsyncStreamingToolRunner if stream else AsyncToolRunner
    else:
        cls = StreamingToolRunner if stream else ToolRunner
    return cls(messages, params, max_iterations)
