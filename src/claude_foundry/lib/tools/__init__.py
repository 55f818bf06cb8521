"""Tools for the tool runner, at the official SDK's import path (``anthropic.lib.tools``).

>>> from claude_foundry.lib.tools import beta_tool, BetaAbstractMemoryTool
"""

from __future__ import annotations

import sys
from typing import Any

from ..._builtin_tools import (
    BetaAsyncBuiltinFunctionTool,
    BetaBuiltinFunctionTool,
    BetaFunctionToolResultType,
    BetaToolLike,
)
from ..._memory_tool import (
    BetaAbstractMemoryTool,
    BetaAsyncAbstractMemoryTool,
    MemoryCommand,
    MemoryCreateCommand,
    MemoryDeleteCommand,
    MemoryInsertCommand,
    MemoryRenameCommand,
    MemoryStrReplaceCommand,
    MemoryViewCommand,
)
from ..._tool_runner import (
    AsyncStreamingToolRunner as BetaAsyncStreamingToolRunner,
)
from ..._tool_runner import (
    AsyncToolRunner as BetaAsyncToolRunner,
)
from ..._tool_runner import (
    StreamingToolRunner as BetaStreamingToolRunner,
)
from ..._tool_runner import (
    ToolRunner as BetaToolRunner,
)
from ..._tools import (
    AsyncFunctionTool as BetaAsyncFunctionTool,
)
from ..._tools import (
    FunctionTool as BetaFunctionTool,
)
from ..._tools import ToolError, beta_async_tool, beta_tool
from ..._unavailable import UNAVAILABLE_IN_LIB_TOOLS, unavailable_error

__all__ = [
    "BetaAbstractMemoryTool",
    "BetaAsyncAbstractMemoryTool",
    "BetaAsyncBuiltinFunctionTool",
    "BetaAsyncFunctionTool",
    "BetaAsyncStreamingToolRunner",
    "BetaAsyncToolRunner",
    "BetaBuiltinFunctionTool",
    "BetaFunctionTool",
    "BetaFunctionToolResultType",
    "BetaStreamingToolRunner",
    "BetaToolLike",
    "BetaToolRunner",
    "MemoryCommand",
    "MemoryCreateCommand",
    "MemoryDeleteCommand",
    "MemoryInsertCommand",
    "MemoryRenameCommand",
    "MemoryStrReplaceCommand",
    "MemoryViewCommand",
    "ToolError",
    "beta_async_tool",
    "beta_tool",
]


def __getattr__(name: str) -> Any:
    raise unavailable_error(__name__, name, UNAVAILABLE_IN_LIB_TOOLS, sys._getframe(1))
