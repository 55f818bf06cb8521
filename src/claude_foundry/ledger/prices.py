"""Prices as data: what a call cost, estimated from its usage and a versioned price table.

The table shipped in the package (``prices.toml``) holds Anthropic's list prices per model id,
which Foundry bills. An override file of the same shape adds negotiated prices, new models and a
``[deployments]`` table that maps a deployment name to its model id and deployment type (Data Zone
Standard costs 1.1 times as much). Every record names the table version that priced it; costs are
estimates: Azure bills Claude Consumption Units per hour, with no per-call breakdown.

    >>> table = load_price_table()
    >>> price = table.price_for("claude-haiku-4-5-20251001")
    >>> price.model, price.input
    ('claude-haiku-4-5', 1.0)

Why not ``genai-prices``: it is well kept and agrees with this table (a test checks), but it pulls
pydantic into every process that records a call, ships a 1.7 MB snapshot of every provider, and
knows neither Foundry deployment names nor the Data Zone multiplier, which an override file must
carry anyway. A table of a dozen rows, checked against it, costs less.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from .._errors import ConfigurationError
from .._observe import CallRecord

__all__ = ["ModelPrice", "PriceTable", "load_price_table"]

_PER_TOKEN = 1e-6  # prices are per million tokens
_DATE_SUFFIX = re.compile(r"-\d{8}$")


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """USD per million tokens for one model id."""

    model: str
    input: float
    output: float
    cache_write_5m: float
    cache_write_1h: float
    cache_read: float
    long_context_threshold: int | None = None
    long_context_input: float | None = None
    long_context_output: float | None = None


@dataclass(frozen=True, slots=True)
class DeploymentInfo:
    model: str | None = None
    data_zone: bool = False


class PriceTable:
    """Model prices by id (and alias), plus what is known about deployments."""

    def __init__(
        self,
        models: Mapping[str, ModelPrice],
        *,
        version: str,
        deployments: Mapping[str, DeploymentInfo] | None = None,
        data_zone_multiplier: float = 1.1,
        aliases: Mapping[str, str] | None = None,
    ) -> None:
        self.models = dict(models)
        self.version = version
        self.deployments = dict(deployments or {})
        self.data_zone_multiplier = data_zone_multiplier
        self._aliases = dict(aliases or {})

    def __repr__(self) -> str:
        return f"PriceTable(version={self.version!r}, models={len(self.models)})"

    def price_for(self, model: str | None) -> ModelPrice | None:
        """The price of a model id; a dated id (``...-20250929``) falls back to its family."""
        if not model:
            return None
        name = model.lower()
        for candidate in (name, _DATE_SUFFIX.sub("", name)):
            found = self.models.get(candidate) or self.models.get(self._aliases.get(candidate, ""))
            if found is not None:
                return found
        return None

    def cost(self, record: CallRecord) -> tuple[str | None, float | None]:
        """``(model id priced, estimated USD)`` for a record; ``(None, None)`` when its model is
        unknown or it has no usage. The model id comes from the deployment table, then the
        response's ``model``, then the deployment name (which often is the model id)."""
        if record.input_tokens is None and record.output_tokens is None:
            return None, None
        if record.operation == "count_tokens":
            return None, 0.0  # counting tokens is free
        deployment = self.deployments.get(record.deployment or "")
        price = None
        if deployment is not None and deployment.model:
            price = self.price_for(deployment.model)
        if price is None:
            price = self.price_for(record.model) or self.price_for(record.deployment)
        if price is None:
            return None, None
        uncached = record.input_tokens or 0
        cache_read = record.cache_read_input_tokens or 0
        cache_writes = record.cache_creation_input_tokens or 0
        write_1h = record.cache_write_1h_tokens or 0
        # Without a TTL breakdown every cache write is a 5-minute one (the default TTL).
        write_5m = record.cache_write_5m_tokens
        if write_5m is None or write_5m + write_1h < cache_writes:
            write_5m = cache_writes - write_1h
        input_rate, output_rate, scale = price.input, price.output, 1.0
        threshold = price.long_context_threshold
        if threshold is not None and uncached + cache_writes + cache_read > threshold:
            if price.long_context_input is not None:
                scale = price.long_context_input / price.input
                input_rate = price.long_context_input
            if price.long_context_output is not None:
                output_rate = price.long_context_output
        total = (
            uncached * input_rate
            + (record.output_tokens or 0) * output_rate
            + write_5m * price.cache_write_5m * scale
            + write_1h * price.cache_write_1h * scale
            + cache_read * price.cache_read * scale
        ) * _PER_TOKEN
        if deployment is not None and deployment.data_zone:
            total *= self.data_zone_multiplier
        return price.model, total


def _model_price(name: str, entry: Mapping[str, Any], where: str) -> ModelPrice:
    try:
        base = float(entry["input"])
        return ModelPrice(
            model=name,
            input=base,
            output=float(entry["output"]),
            cache_write_5m=float(entry.get("cache_write_5m", base * 1.25)),
            cache_write_1h=float(entry.get("cache_write_1h", base * 2.0)),
            cache_read=float(entry.get("cache_read", base * 0.1)),
            long_context_threshold=(
                int(entry["long_context_threshold"]) if "long_context_threshold" in entry else None
            ),
            long_context_input=(
                float(entry["long_context_input"]) if "long_context_input" in entry else None
            ),
            long_context_output=(
                float(entry["long_context_output"]) if "long_context_output" in entry else None
            ),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigurationError(
            f"Price table {where}: model {name!r} needs numeric `input` and `output` prices "
            f"(USD per million tokens); {type(exc).__name__}: {exc}"
        ) from None


def _read(text: str, where: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"Price table {where} is not valid TOML: {exc}") from None


def load_price_table(override: str | Path | None = None) -> PriceTable:
    """The shipped table, with ``override`` (a TOML file path) laid over it."""
    shipped = _read(
        resources.files(__package__).joinpath("prices.toml").read_text("utf-8"), "prices.toml"
    )
    layers = [(shipped, "prices.toml")]
    if override is not None:
        path = Path(override)
        try:
            text = path.read_text("utf-8")
        except OSError as exc:
            raise ConfigurationError(
                f"Cannot read the price file {str(path)!r}: {exc.strerror}. Pass the path of a "
                "TOML file shaped like claude_foundry/ledger/prices.toml."
            ) from None
        layers.append((_read(text, repr(str(path))), repr(str(path))))
    models: dict[str, ModelPrice] = {}
    aliases: dict[str, str] = {}
    deployments: dict[str, DeploymentInfo] = {}
    version = str(shipped.get("version", "unknown"))
    if override is not None:
        version = str(layers[-1][0].get("version") or f"{version}+{Path(override).name}")
    multiplier = 1.1
    for data, where in layers:
        multiplier = float(data.get("data_zone_multiplier", multiplier))
        for name, entry in (data.get("models") or {}).items():
            key = str(name).lower()
            models[key] = _model_price(key, entry, where)
            for alias in entry.get("aliases", ()):
                aliases[str(alias).lower()] = key
        for name, entry in (data.get("deployments") or {}).items():
            if not isinstance(entry, Mapping):
                raise ConfigurationError(
                    f"Price table {where}: deployment {name!r} must be a table such as "
                    '{ model = "claude-sonnet-4-6", data_zone = true }'
                )
            model = entry.get("model")
            deployments[str(name)] = DeploymentInfo(
                model=str(model) if model else None, data_zone=bool(entry.get("data_zone"))
            )
    return PriceTable(
        models,
        version=version,
        deployments=deployments,
        data_zone_multiplier=multiplier,
        aliases=aliases,
    )
