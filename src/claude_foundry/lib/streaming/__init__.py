"""Message streams and their events at the official SDK's import path
(``anthropic.lib.streaming``), under its names.

The beta resource streams with the same classes as the stable one, so each ``Beta*`` name is the
class of the plain name. The helper's ``message_stop`` and ``content_block_stop`` events carry the
finished message and block (:class:`~claude_foundry.types.ParsedMessageStopEvent`,
:class:`~claude_foundry.types.ParsedContentBlockStopEvent`), as the official ones do.
"""

from __future__ import annotations

import sys
from typing import Any

from ..._accumulate import MessageStreamEvent
from ..._stream import (
    AsyncMessageStream,
    AsyncMessageStreamManager,
    MessageStream,
    MessageStreamManager,
)
from ..._unavailable import UNAVAILABLE_IN_LIB_STREAMING, unavailable_error
from ...types import (
    InputJsonEvent,
    ParsedContentBlockStopEvent,
    ParsedMessageStopEvent,
    TextEvent,
)

__all__ = [
    "AsyncMessageStream",
    "AsyncMessageStreamManager",
    "BetaAsyncMessageStream",
    "BetaAsyncMessageStreamManager",
    "BetaContentBlockStopEvent",
    "BetaInputJsonEvent",
    "BetaMessageStopEvent",
    "BetaMessageStream",
    "BetaMessageStreamEvent",
    "BetaMessageStreamManager",
    "BetaTextEvent",
    "ContentBlockStopEvent",
    "InputJsonEvent",
    "MessageStopEvent",
    "MessageStream",
    "MessageStreamEvent",
    "MessageStreamManager",
    "ParsedBetaContentBlockStopEvent",
    "ParsedBetaMessageStopEvent",
    "ParsedBetaMessageStreamEvent",
    "ParsedBetaTextEvent",
    "ParsedContentBlockStopEvent",
    "ParsedMessageStopEvent",
    "ParsedMessageStreamEvent",
    "TextEvent",
]

BetaMessageStream = MessageStream
BetaAsyncMessageStream = AsyncMessageStream
BetaMessageStreamManager = MessageStreamManager
BetaAsyncMessageStreamManager = AsyncMessageStreamManager
ContentBlockStopEvent = ParsedContentBlockStopEvent
MessageStopEvent = ParsedMessageStopEvent
ParsedMessageStreamEvent = MessageStreamEvent
BetaTextEvent = ParsedBetaTextEvent = TextEvent
BetaInputJsonEvent = InputJsonEvent
BetaContentBlockStopEvent = ParsedBetaContentBlockStopEvent = ParsedContentBlockStopEvent
BetaMessageStopEvent = ParsedBetaMessageStopEvent = ParsedMessageStopEvent
BetaMessageStreamEvent = ParsedBetaMessageStreamEvent = MessageStreamEvent


def __getattr__(name: str) -> Any:
    raise unavailable_error(__name__, name, UNAVAILABLE_IN_LIB_STREAMING, sys._getframe(1))
