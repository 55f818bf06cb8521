"""Tools for the tool runner, at the official SDK's import path (``anthropic.lib.tools``).

>>> from claude_foundry.lib.tools import beta_tool
"""

from __future__ import annotations

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

__all__ = [
    "BetaAsyncFunctionTool",
    "BetaAsyncStreamingToolRunner",
    "BetaAsyncToolRunner",
    "BetaFunctionTool",
    "BetaStreamingToolRunner",
    "BetaToolRunner",
    "ToolError",
    "beta_async_tool",
    "beta_tool",
]
