"""The tool runner's loop without I/O: :class:`ToolLoop`.

It decides what the next request is, which step a reply's ``stop_reason`` leads to, which tool
answers which call, what a result or a failure becomes, when to compact, and (with
``run_tools_eagerly``) which call of a streamed reply runs before the reply is complete. The sync
and async runners in :mod:`._tool_runner` only send requests, pass stream events on and call the
tools.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Generator, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal

import msgspec

from ._errors import APIStatusError
from ._tool_eager import EagerCalls
from ._tool_thread import ConversationThread
from ._tools import ToolError, is_runnable_tool, refuse_toolsets, tool_definition

if TYPE_CHECKING:
    from .types import Message

__all__ = [
    "COMPACTION_BETA",
    "STOP_REASON_STEPS",
    "ToolLoop",
    "error_content",
    "result_content",
    "step_after",
    "tool_name",
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


def tool_name(tool: Any) -> str:
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
    then runs :meth:`tool_calls` (if the step is ``run_tools``) and hands the result message
    to :meth:`finish_turn`.

    With ``run_tools_eagerly`` a driver that streams a reply first calls
    :meth:`begin_streamed_reply`; before it hands the reader each event it runs the call
    :meth:`due_eager_call` names (reporting the outcome to :meth:`record_eager_result`) and then
    tells the returned tracker it ``saw`` the event. :meth:`tool_calls` reuses those results.
    """

    def __init__(
        self, params: dict[str, Any], max_iterations: int | None, run_tools_eagerly: bool = False
    ) -> None:
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
        self.tools: list[Any] = refuse_toolsets(params.pop("tools", ()))
        self.max_iterations = max_iterations
        self.run_tools_eagerly = run_tools_eagerly
        self.eager: EagerCalls | None = None
        """The calls of the streamed reply being handled, with ``run_tools_eagerly``."""
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
        return {tool_name(tool): tool for tool in self.tools if is_runnable_tool(tool)}

    def set_params(self, params: Mapping[str, Any]) -> None:
        new = dict(params)
        if new.get("compaction") is not None:
            raise TypeError(
                "compaction cannot be set on a tool runner; use compact_before_next_turn()."
            )
        _check_thread_param(new.pop("thread", None))
        if "tools" in new:
            self.tools = refuse_toolsets(new.pop("tools"))
        new["messages"] = list(new.get("messages", self.messages))
        if new["messages"] != self.messages:
            self._messages_replaced = True
            self.thread.restart()
        self.params = new

    def add_tools(self, tools: Iterable[Any]) -> None:
        """Offer ``tools`` from the next request on, each in place of a tool of the same name."""
        added = refuse_toolsets(tools)
        names = {tool_name(tool) for tool in added}
        self.tools = [tool for tool in self.tools if tool_name(tool) not in names] + added

    def remove_tools(self, tools: Iterable[Any]) -> None:
        """Stop offering (and running) ``tools``, given as tools or names."""
        names = {tool if isinstance(tool, str) else tool_name(tool) for tool in tools}
        self.tools = [tool for tool in self.tools if tool_name(tool) not in names]

    def append(self, messages: Iterable[Any]) -> None:
        self._appended.extend(_as_param(message) for message in messages)

    def schedule_compaction(self, compaction: Mapping[str, Any] | None) -> None:
        self._pending_compaction = {"type": "summarize"} if compaction is None else dict(compaction)

    # --- run_tools_eagerly: calls that run while the reply streams

    def begin_streamed_reply(self, snapshot: Callable[[], Message | None]) -> EagerCalls | None:
        """A streamed reply is about to be read; ``snapshot`` gives its message so far. Returns
        the tracker the driver feeds its events to, or ``None`` without ``run_tools_eagerly``."""
        self.eager = EagerCalls(snapshot) if self.run_tools_eagerly else None
        return self.eager

    def due_eager_call(self) -> tuple[Any, Any] | None:
        """The call to run now and its tool, if the model has moved on from one the runner can
        run. A call to a tool it does not have is answered with the tool response, as usual."""
        if self.eager is None or (tool_use := self.eager.take_due()) is None:
            return None
        tool = self.runnable_tools().get(tool_use.name)
        return None if tool is None else (tool_use, tool)

    def record_eager_result(self, tool_use: Any, tool: Any, outcome: Any, failed: bool) -> None:
        assert self.eager is not None
        self.eager.record(tool_use, self.result_block(tool_use, tool, outcome, failed))

    def defer(self, tool_use: Any) -> None:
        if self.eager is not None:
            self.eager.hold(tool_use)

    def deferred(self) -> list[Any]:
        return [] if self.eager is None else self.eager.held()

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
        eager = self.eager
        for tool_use, tool in self.pending_calls():
            # A call that ran while the reply streamed keeps its result: nothing runs twice.
            block = eager.results.get(tool_use.id) if eager is not None else None
            if block is None:
                if tool is None:
                    block = self.result_block(tool_use, None, None, failed=False)
                else:
                    outcome, failed = yield tool, tool_use.input
                    block = self.result_block(tool_use, tool, outcome, failed)
                if eager is not None:
                    eager.record(tool_use, block)
            blocks.append(block)
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
