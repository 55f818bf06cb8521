"""The base of every wire struct, the stand-in for types this version does not know, and JSON
encoding."""

from __future__ import annotations

from typing import Any

import msgspec


class WireModel(msgspec.Struct, dict=True, kw_only=True):
    """Base of every wire struct.

    ``dict=True`` lets the client attach response metadata (request ids) without it becoming a
    wire field. The ``to_dict`` / ``model_dump`` family mirrors the official SDK's pydantic models
    so code that serialises responses keeps working.
    """

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = msgspec.to_builtins(self, enc_hook=_enc_hook)
        return result

    def to_json(self, *, indent: int | None = 2, **_: Any) -> str:
        """JSON text, indented by 2 as the official models' ``to_json()``; ``indent=None``
        for one line."""
        return _json_text(self, indent)

    def model_dump(self, **_: Any) -> dict[str, Any]:
        return self.to_dict()

    def model_dump_json(self, *, indent: int | None = None, **_: Any) -> str:
        """JSON text, one line unless ``indent`` is given (as pydantic's)."""
        return _json_text(self, indent)

    @property
    def type(self) -> Any:
        """The wire ``type`` tag (``"text"``, ``"content_block_delta"``, ...), as in the official
        SDK.

        msgspec keeps a tag out of a struct's attributes; user code dispatches on ``x.type``.
        Structs with a real ``type`` field (``Message``, ``ErrorDetail``) override this.
        """
        return type(self).__struct_config__.tag


class UnknownBlock:
    """A content block or delta whose ``type`` this version does not know.

    Its fields are readable as attributes (``block.some_field``) and through :meth:`to_dict`, and
    it is sent back unchanged when passed in a later request.
    """

    __slots__ = ("_data",)

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    @property
    def type(self) -> str:
        return str(self._data.get("type", ""))

    def __getattr__(self, name: str) -> Any:
        try:
            return self._data[name]
        except KeyError:
            raise AttributeError(
                f"{self.type!r} block has no field {name!r}; fields: {sorted(self._data)}"
            ) from None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, UnknownBlock) and other._data == self._data

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        return f"UnknownBlock({self._data!r})"

    def to_dict(self) -> dict[str, Any]:
        return dict(self._data)

    model_dump = to_dict


class UnknownEvent(UnknownBlock):
    """A stream event of a type this version does not know; readable like :class:`UnknownBlock`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"UnknownEvent({self._data!r})"


def _enc_hook(value: Any) -> Any:
    if isinstance(value, UnknownBlock):
        return value.to_dict()
    raise NotImplementedError(
        f"cannot encode {type(value).__name__} as JSON. Pass JSON values (dict, list, str, int, "
        "float, bool, None) or this package's types; convert other objects first, e.g. with "
        "their to_dict() or model_dump()."
    )


_encoder = msgspec.json.Encoder(enc_hook=_enc_hook)


def encode(value: Any) -> bytes:
    """JSON-encode wire structs, plain Python values and unknown blocks alike."""
    return _encoder.encode(value)


def _json_text(value: Any, indent: int | None) -> str:
    compact = _encoder.encode(value)
    if not indent:
        return compact.decode()
    return msgspec.json.format(compact, indent=indent).decode()
