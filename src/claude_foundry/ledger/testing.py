"""A call observer for tests: collect the records of the calls your code makes.

    >>> from claude_foundry import CallRecord
    >>> capture = CallCapture()
    >>> capture.record_call(CallRecord(started_at=0.0, duration=0.5, tags={"feature": "search"}))
    >>> capture.last.tags["feature"]
    'search'

Pass it as ``AnthropicFoundry(..., observers=[capture])``; against the emulator (the
``foundry_emulator`` fixture) the records carry the emulator's real usage and ids. It keeps every
record in memory and is not meant for production use. Thread-safe for appends (a list append).
"""

from __future__ import annotations

from .._observe import CallRecord

__all__ = ["CallCapture"]


class CallCapture:
    """Every :class:`~claude_foundry.CallRecord` it observed, in order."""

    def __init__(self) -> None:
        self.records: list[CallRecord] = []

    def record_call(self, record: CallRecord) -> None:
        self.records.append(record)

    @property
    def last(self) -> CallRecord:
        """The latest record; :class:`LookupError` when no call has been observed."""
        if not self.records:
            raise LookupError("No call was observed: pass this capture as observers=[capture].")
        return self.records[-1]

    def clear(self) -> None:
        self.records.clear()
