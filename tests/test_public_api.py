from __future__ import annotations

import types as pytypes

import claude_foundry


def test_all_is_sorted() -> None:
    names = list(claude_foundry.__all__)
    assert names == sorted(names)


def test_all_is_complete() -> None:
    exported = set(claude_foundry.__all__)
    for name, value in vars(claude_foundry).items():
        if name.startswith("_") or (isinstance(value, pytypes.ModuleType) and name != "types"):
            continue
        if name == "annotations":
            continue
        assert name in exported, f"{name} is public but missing from __all__"
    for name in exported:
        assert hasattr(claude_foundry, name), name
