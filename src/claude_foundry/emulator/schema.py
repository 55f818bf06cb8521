"""Deterministic example values for a JSON Schema: the input of an emulated ``tool_use`` block.

Rules, in order, for each (sub)schema:

* ``const``, then the first of ``enum``, then ``default``, then the first of ``examples``;
* ``$ref`` to ``#``, ``#/$defs/...`` or ``#/definitions/...`` is followed; ``anyOf`` /
  ``oneOf`` take their first branch that is not ``null``; ``allOf`` merges its object branches;
* by ``type`` (the first non-``null`` one when a list): ``object`` gives every **required**
  property (optional ones are left out, as a terse model would); ``string`` gives
  ``"example <property>"`` (or a fixed value for ``format`` date, date-time, time, email, uri,
  uuid, ipv4), padded or cut to ``minLength`` / ``maxLength``; ``integer`` / ``number`` give
  ``minimum`` (or ``exclusiveMinimum`` + 1), else 1, capped at ``maximum``; ``boolean`` gives
  ``true``; ``array`` gives ``max(1, minItems)`` example items; ``null`` gives ``null``;
* a schema with ``properties`` but no ``type`` is an object; anything else gives
  ``"example <property>"``.

``pattern`` is not honoured. Nesting deeper than 8 levels (e.g. recursive ``$ref``) stops with
``null``. The example stays bounded: a budget of a million items or padding characters is
shared out among an array's items and an object's properties, and ``minItems`` / ``minLength``
beyond it are not met, so a schema asking for a billion items cannot hang the emulator.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["example_input"]

_MAX_DEPTH = 8
_BUDGET = 1_000_000
"""The array items and padding characters one example may hold; more are left out."""
_FORMATS = {
    "date": "2025-01-01",
    "date-time": "2025-01-01T00:00:00Z",
    "time": "00:00:00Z",
    "email": "user@example.com",
    "uri": "https://example.com",
    "url": "https://example.com",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "ipv4": "192.0.2.1",
}


def example_input(schema: Mapping[str, Any]) -> Any:
    """An example value for ``schema`` (an object schema gives a dict of its required properties).

    >>> example_input({"type": "object", "required": ["city", "days"],
    ...     "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1},
    ...                    "units": {"enum": ["c", "f"]}}})
    {'city': 'example city', 'days': 1}
    """
    if not schema:
        return {}
    return _example(schema, root=schema, name="value", depth=0, budget=_BUDGET)


def _resolve(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = schema.get("$ref")
    if ref == "#":
        return root
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return schema
    target: Any = root
    for part in ref[2:].split("/"):
        if not isinstance(target, Mapping) or part not in target:
            return {}
        target = target[part]
    return target if isinstance(target, Mapping) else {}


def _example(schema: Any, *, root: Mapping[str, Any], name: str, depth: int, budget: int) -> Any:
    if not isinstance(schema, Mapping) or depth > _MAX_DEPTH:
        return None
    schema = _resolve(schema, root)
    if "const" in schema:
        return schema["const"]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    if "default" in schema:
        return schema["default"]
    examples = schema.get("examples")
    if isinstance(examples, list) and examples:
        return examples[0]
    for key in ("anyOf", "oneOf"):
        branches = schema.get(key)
        if isinstance(branches, list) and branches:
            usable = [
                b for b in branches if not (isinstance(b, Mapping) and b.get("type") == "null")
            ]
            return _example(
                (usable or branches)[0], root=root, name=name, depth=depth + 1, budget=budget
            )
    if isinstance(schema.get("allOf"), list):
        merged: dict[str, Any] = {}
        for branch in schema["allOf"]:
            value = _example(branch, root=root, name=name, depth=depth + 1, budget=budget)
            if isinstance(value, dict):
                merged.update(value)
        return merged
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None and isinstance(schema.get("properties"), Mapping):
        kind = "object"
    if kind == "object":
        properties = schema.get("properties")
        properties = properties if isinstance(properties, Mapping) else {}
        required = schema.get("required")
        # Only string names count: ``required: [{}]`` is not a schema to honour, and a dict as a
        # key would be unhashable.
        names = [n for n in required if isinstance(n, str)] if isinstance(required, list) else []
        share = max(1, budget // max(1, len(names)))
        return {
            str(prop): _example(
                properties.get(prop, {}), root=root, name=str(prop), depth=depth + 1, budget=share
            )
            for prop in names
        }
    if kind == "array":
        minimum = schema.get("minItems")
        count = min(max(1, minimum if isinstance(minimum, int) else 1), budget)
        item_budget = max(1, budget // count)
        item = _example(
            schema.get("items", {}), root=root, name=name, depth=depth + 1, budget=item_budget
        )
        return [item] * count
    if kind in ("integer", "number"):
        return _number(schema, integer=kind == "integer")
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return _string(schema, name, budget)


def _number(schema: Mapping[str, Any], *, integer: bool) -> int | float:
    value: float = 1
    minimum, exclusive = schema.get("minimum"), schema.get("exclusiveMinimum")
    if isinstance(minimum, int | float) and not isinstance(minimum, bool):
        value = minimum
    elif isinstance(exclusive, int | float) and not isinstance(exclusive, bool):
        value = exclusive + 1
    maximum = schema.get("maximum")
    if isinstance(maximum, int | float) and not isinstance(maximum, bool):
        value = min(value, maximum)
    return int(value) if integer else float(value)


def _string(schema: Mapping[str, Any], name: str, budget: int) -> str:
    text = _FORMATS.get(str(schema.get("format")), f"example {name}")
    min_length, max_length = schema.get("minLength"), schema.get("maxLength")
    if isinstance(min_length, int) and len(text) < min_length:
        text = text + "x" * (min(min_length, budget) - len(text))
    if isinstance(max_length, int) and max_length >= 0:
        text = text[:max_length]
    return text
