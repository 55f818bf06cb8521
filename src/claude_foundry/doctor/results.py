"""What a check reports: one :class:`CheckResult` per row, and the exit status of a run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["CheckResult", "Finding", "Status", "exit_code", "merge_findings"]

Status = Literal["ok", "warn", "fail", "skip"]
Finding = tuple[Status, str, str]
"""(status, what was found, how to fix it): several findings merge into one row."""
_RANK: dict[str, int] = {"ok": 0, "skip": 0, "warn": 1, "fail": 2}


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One row of the report. ``status`` is ``ok``, ``warn``, ``fail`` or ``skip``."""

    name: str
    status: Status
    detail: str
    fix: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status, "detail": self.detail, "fix": self.fix}


def merge_findings(name: str, findings: list[Finding]) -> CheckResult:
    """One row: the worst status, every finding, every fix."""
    worst = max(findings, key=lambda finding: _RANK[finding[0]])[0]
    detail = "; ".join(text for _, text, _ in findings)
    fix = " ".join(fix for _, _, fix in findings if fix)
    return CheckResult(name, worst, detail, fix)


def exit_code(results: list[CheckResult]) -> int:
    """1 when any check failed, else 0 (warnings do not fail a run)."""
    return 1 if any(result.status == "fail" for result in results) else 0
