"""Files given as ``data`` of base64 image and document sources, read and encoded for the wire.

As in the official client, ``{"type": "base64", "media_type": "image/png", "data": Path(...)}``
(or an open binary file) is read when the request is built and sent as base64 text. The caller's
dicts are left as they are: changed blocks are copies.

>>> import io
>>> source = {"type": "base64", "media_type": "image/png", "data": io.BytesIO(b"png")}
>>> sent = inline_file_data([{"role": "user", "content": [{"type": "image", "source": source}]}])
>>> sent[0]["content"][0]["source"]["data"]
'cG5n'
"""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Mapping
from typing import Any

__all__ = ["file_from_path", "inline_file_data"]


def _is_file_input(value: object) -> bool:
    return isinstance(value, os.PathLike | io.IOBase)


def _encoded(value: Any) -> str:
    if isinstance(value, io.IOBase):
        data = value.read()
    else:
        with open(os.fspath(value), "rb") as file:
            data = file.read()
    if isinstance(data, str):
        data = data.encode()
    return base64.b64encode(data).decode("ascii")


def _block(block: Any) -> Any:
    if not isinstance(block, Mapping):
        return block
    changed: dict[str, Any] | None = None
    source = block.get("source")
    if isinstance(source, Mapping) and _is_file_input(source.get("data")):
        changed = {**block, "source": {**source, "data": _encoded(source["data"])}}
    content = block.get("content")
    if isinstance(content, list | tuple):
        new_content = _blocks(content)
        if new_content is not content:
            changed = {**(changed or block), "content": new_content}
    return block if changed is None else changed


def _blocks(blocks: list[Any] | tuple[Any, ...]) -> Any:
    new = [_block(block) for block in blocks]
    if all(a is b for a, b in zip(new, blocks, strict=True)):
        return blocks
    return new


def inline_file_data(messages: list[Any]) -> list[Any]:
    """``messages`` with every file-valued base64 ``data`` read and encoded."""
    result = _blocks(messages)
    return list(result) if result is not messages else messages


def file_from_path(path: str | os.PathLike[str]) -> tuple[str, bytes]:
    """``(file name, contents)`` of the file at ``path``, as the official ``file_from_path``.

    For a document or image in a message, the path itself can go in ``source.data``; it is read
    and encoded when the request is sent.
    """
    with open(os.fspath(path), "rb") as file:
        return os.path.basename(os.fspath(path)), file.read()
