"""Emulator configuration: deployments, keys, quotas, faults and behaviour switches.

A configuration comes from a TOML file, a mapping, or the defaults (one deployment per model in the
catalog, no quotas). The catalog of models, hosting rules and known header values is data in
``catalog.toml``, because it changes with every documentation revision. The file format, with
every key, is in ``docs/emulator.md``; in short::

    api_key = "local-key"
    strict = false
    stream_event_delay_ms = 0

    [[deployments]]
    name = "chat"                      # what callers pass as "model"
    model = "claude-sonnet-4-6"
    hosting = "anthropic"              # or "azure" (refuses what Foundry lacks there)
    echo_model = "deployment"          # or "model": which name replies carry
    quotas = { rpm = 60, input_tpm = 100_000, output_tpm = 20_000 }

    [[faults]]
    kind = "status"
    status = 529
    count = 2

    >>> config = EmulatorConfig.from_mapping({
    ...     "api_key": "local-key",
    ...     "deployments": [{"name": "my-sonnet", "model": "claude-sonnet-4-6",
    ...                      "quotas": {"rpm": 10}}],
    ... })
    >>> config.deployments["my-sonnet"].hosting, config.deployments["my-sonnet"].rpm
    ('anthropic', 10)
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal, cast

from .config_values import (
    EmulatorConfigError,
    api_keys,
    check_api_key,
    check_header_value,
    check_keys,
    host_names,
    optional_count,
    optional_int,
    optional_str,
    require_bool,
    require_str,
    seconds,
    stream_event_delay_ms,
)
from .entra_config import EntraConfigError, EntraSettings
from .files import UnreadableFile, read_regular_file

__all__ = [
    "DEFAULT_API_KEY",
    "Catalog",
    "DeploymentConfig",
    "EmulatorConfig",
    "EmulatorConfigError",
    "catalog",
    "check_api_key",
    "check_header_value",
]

DEFAULT_API_KEY = "emulator-key"
"""The well-known key of an emulator started without one. It is not a secret: loopback only."""

Hosting = Literal["azure", "anthropic"]
EchoModel = Literal["deployment", "model"]
_HOSTINGS: tuple[str, ...] = ("azure", "anthropic")
_QUOTA_KEYS = ("rpm", "input_tpm", "output_tpm")


@dataclass(frozen=True)
class Catalog:
    models: tuple[dict[str, Any], ...]
    unavailable_by_hosting: dict[str, tuple[str, ...]]
    feature_names: dict[str, str]
    anthropic_versions: frozenset[str]
    anthropic_betas: frozenset[str]
    quota_presets: dict[str, dict[str, dict[str, int]]]


@cache
def catalog() -> Catalog:
    """The packaged catalog (``catalog.toml``), read once."""
    text = resources.files(__package__).joinpath("catalog.toml").read_text("utf-8")
    data = tomllib.loads(text)
    return Catalog(
        models=tuple(data["models"]),
        unavailable_by_hosting={
            name: tuple(entry["unavailable_features"]) for name, entry in data["hosting"].items()
        },
        feature_names=dict(data["features"]),
        anthropic_versions=frozenset(data["headers"]["anthropic_versions"]),
        anthropic_betas=frozenset(data["headers"]["anthropic_betas"]),
        quota_presets=data["quota_presets"],
    )


@dataclass
class DeploymentConfig:
    """One deployment: the name callers pass as ``model`` and what stands behind it."""

    name: str
    model: str
    hosting: Hosting = "azure"
    rpm: int | None = None
    input_tpm: int | None = None
    output_tpm: int | None = None
    echo_model: EchoModel = "deployment"
    """What replies carry as ``model``: the deployment name or the model id."""
    context_window: int | None = None
    max_output_tokens: int | None = None
    """The largest ``max_tokens`` accepted (the catalog's value for the model); None: no limit."""
    unavailable_features: tuple[str, ...] | None = None
    """Features answered with 400; ``None`` means the hosting option's list from the catalog."""
    quota_pool: str | None = None
    """Deployments naming the same pool share their quota windows, as Global Standard
    deployments of one model share a subscription's quota; ``None``: a window of its own."""

    @property
    def quota_key(self) -> str:
        return self.quota_pool or self.name

    @property
    def blocked_features(self) -> tuple[str, ...]:
        if self.unavailable_features is not None:
            return self.unavailable_features
        return catalog().unavailable_by_hosting.get(self.hosting, ())

    @property
    def reply_model(self) -> str:
        return self.model if self.echo_model == "model" else self.name

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "model": self.model,
            "hosting": self.hosting,
            "quotas": {key: getattr(self, key) for key in _QUOTA_KEYS},
            "echo_model": self.echo_model,
            "context_window": self.context_window,
            "max_output_tokens": self.max_output_tokens,
            "unavailable_features": list(self.blocked_features),
            "quota_pool": self.quota_pool,
        }

    @classmethod
    def from_mapping(
        cls, data: Mapping[str, Any], *, where: str = "deployment"
    ) -> DeploymentConfig:
        check_keys(data, _DEPLOYMENT_KEYS, where)
        name = require_str(data, "name", where)
        where = f"deployment {name!r}"
        model = optional_str(data, "model", where) or name
        entry = _catalog_entry(model)
        allowed_hostings = tuple(entry["hosting"]) if entry else _HOSTINGS
        hosting = optional_str(data, "hosting", where) or allowed_hostings[0]
        if hosting not in _HOSTINGS:
            raise EmulatorConfigError(
                f"{where}: hosting must be 'azure' or 'anthropic', not {hosting!r}"
            )
        deployment = cls(
            name=name,
            model=model,
            hosting=cast(Hosting, hosting),
            context_window=entry["context_window"] if entry else None,
            max_output_tokens=entry.get("max_output_tokens") if entry else None,
        )
        deployment.update(
            {key: value for key, value in data.items() if key not in ("name", "model", "hosting")},
            where=where,
        )
        return deployment

    def update(self, data: Mapping[str, Any], *, where: str | None = None) -> None:
        """Apply a partial change (the keys of a ``[[deployments]]`` table except ``name``)."""
        where = where or f"deployment {self.name!r}"
        check_keys(data, _DEPLOYMENT_KEYS - {"name"}, where)
        if "model" in data:
            self.model = require_str(data, "model", where)
        if "hosting" in data:
            hosting = data["hosting"]
            if hosting not in _HOSTINGS:
                raise EmulatorConfigError(
                    f"{where}: hosting must be 'azure' or 'anthropic', not {hosting!r}"
                )
            self.hosting = hosting
        quotas = data.get("quotas")
        if quotas is not None:
            if not isinstance(quotas, Mapping):
                raise EmulatorConfigError(
                    f"{where}: quotas must be a table such as {{ rpm = 10, input_tpm = 10000, "
                    f"output_tpm = 2000 }}, not {quotas!r}"
                )
            check_keys(quotas, frozenset(_QUOTA_KEYS), f"{where} quotas")
            for key in _QUOTA_KEYS:
                if key in quotas:
                    setattr(self, key, optional_count(quotas[key], f"{where} quotas.{key}"))
        if "echo_model" in data:
            echo = data["echo_model"]
            if echo is True:
                echo = "model"
            elif echo is False:
                echo = "deployment"
            if echo not in ("deployment", "model"):
                raise EmulatorConfigError(
                    f"{where}: echo_model must be 'deployment' or 'model', not {echo!r}"
                )
            self.echo_model = echo
        if "quota_pool" in data:
            pool = data["quota_pool"]
            if pool is not None and (not isinstance(pool, str) or not pool):
                raise EmulatorConfigError(
                    f"{where}: quota_pool must be a non-empty string (or omitted), not {pool!r}"
                )
            self.quota_pool = pool
        if "context_window" in data:
            self.context_window = optional_count(data["context_window"], f"{where} context_window")
        if "max_output_tokens" in data:
            self.max_output_tokens = optional_count(
                data["max_output_tokens"], f"{where} max_output_tokens"
            )
        if "unavailable_features" in data:
            features = data["unavailable_features"]
            if features is None:
                self.unavailable_features = None
            else:
                known = catalog().feature_names
                if not isinstance(features, list) or any(
                    not isinstance(f, str) or f not in known for f in features
                ):
                    raise EmulatorConfigError(
                        f"{where}: unavailable_features must be a list drawn from "
                        f"{sorted(known)}, not {features!r}"
                    )
                self.unavailable_features = tuple(features)


_DEPLOYMENT_KEYS = frozenset(
    {
        "name",
        "model",
        "hosting",
        "quotas",
        "quota_pool",
        "echo_model",
        "context_window",
        "max_output_tokens",
        "unavailable_features",
    }
)


@dataclass
class EmulatorConfig:
    """Everything the emulator serves. Mutable at run time through the control API."""

    api_keys: list[str] = field(default_factory=lambda: [DEFAULT_API_KEY])
    require_auth: bool = True
    strict: bool = False
    """Reject unknown body fields, ``anthropic-version`` and ``anthropic-beta`` values (400)."""
    stream_event_delay_ms: float = 0.0
    max_body_bytes: int = 32 * 1024 * 1024
    region: str | None = "East US 2"
    """Sent as ``x-ms-region``; ``None`` leaves the header out."""
    seed: int | None = None
    journal_size: int = 1000
    journal_max_bytes: int = 32 * 1024 * 1024
    header_timeout_s: float = 10.0
    """A connection must deliver a request's headers within this time, or it is closed."""
    keep_alive_s: float = 5.0
    """An idle connection between requests is closed after this time."""
    body_timeout_s: float = 60.0
    """A request body must arrive in full within this time, or the request gets 408."""
    quota_window_s: float = 60.0
    """The quota minute: quotas count over this many seconds (shorter for tests and benchmarks)."""
    allowed_hosts: frozenset[str] = frozenset()
    """Host names besides loopback ones that an emulator on loopback answers to (lower case)."""
    """Request-body bytes the journal keeps in all; older bodies give way to a note."""
    deployments: dict[str, DeploymentConfig] = field(default_factory=dict)
    faults: list[dict[str, Any]] = field(default_factory=list)
    scripts: list[Path] = field(default_factory=list)
    entra: EntraSettings = field(default_factory=EntraSettings)
    """Microsoft Entra ID bearer tokens (``[entra]``); off unless ``enabled``."""

    @classmethod
    def default(cls) -> EmulatorConfig:
        return cls.from_mapping({})

    @classmethod
    def load(cls, path: str | Path) -> EmulatorConfig:
        """Read a TOML file; relative script paths are resolved against its folder."""
        path = Path(path)
        try:
            data = tomllib.loads(read_regular_file(path, what="emulator config file").decode())
        except UnreadableFile as exc:
            raise EmulatorConfigError(str(exc)) from None
        except UnicodeDecodeError:
            raise EmulatorConfigError(
                f"emulator config file {str(path)!r} is not UTF-8 text; save it as UTF-8 TOML"
            ) from None
        except tomllib.TOMLDecodeError as exc:
            raise EmulatorConfigError(
                f"emulator config file {str(path)!r} is not TOML: {exc}"
            ) from None
        return cls.from_mapping(data, base_dir=path.parent)

    @classmethod
    def from_mapping(
        cls, data: Mapping[str, Any], *, base_dir: Path | None = None
    ) -> EmulatorConfig:
        check_keys(data, _TOP_KEYS, "emulator config")
        config = cls()
        if "api_key" in data and "api_keys" in data:
            raise EmulatorConfigError("emulator config: give api_key or api_keys, not both")
        if "api_key" in data:
            config.api_keys = [check_api_key(data["api_key"], "emulator config api_key")]
        elif "api_keys" in data:
            config.api_keys = api_keys(data["api_keys"], "emulator config")
        config.apply_settings(
            {key: data[key] for key in _SETTING_KEYS if key in data}, where="emulator config"
        )
        config.seed = optional_int(data, "seed", "emulator config")
        config.journal_size = optional_count(data.get("journal_size", 1000), "journal_size") or 1000
        for key in ("header_timeout_s", "keep_alive_s", "body_timeout_s", "quota_window_s"):
            if key in data:
                setattr(config, key, seconds(data[key], f"emulator config: {key}"))
        if "allowed_hosts" in data:
            config.allowed_hosts = host_names(data["allowed_hosts"])
        if "journal_max_bytes" in data:
            journal_bytes = optional_count(data["journal_max_bytes"], "journal_max_bytes")
            config.journal_max_bytes = (
                config.journal_max_bytes if journal_bytes is None else journal_bytes
            )

        if data.get("default_deployments", True) is not False:
            for entry in catalog().models:
                deployment = DeploymentConfig.from_mapping(
                    {"name": entry["deployment"], "model": entry["model"]}
                )
                config.deployments[deployment.name] = deployment
        declared = data.get("deployments", [])
        if not isinstance(declared, list):
            raise EmulatorConfigError(
                "emulator config: deployments must be an array of tables ([[deployments]])"
            )
        for index, entry in enumerate(declared):
            if not isinstance(entry, Mapping):
                raise EmulatorConfigError(f"emulator config: deployments[{index}] must be a table")
            deployment = DeploymentConfig.from_mapping(entry, where=f"deployments[{index}]")
            config.deployments[deployment.name] = deployment
        preset = data.get("quota_preset")
        if preset is not None:
            config.apply_quota_preset(preset, only_unset=True)

        faults = data.get("faults", [])
        if not isinstance(faults, list) or not all(isinstance(f, Mapping) for f in faults):
            raise EmulatorConfigError(
                "emulator config: faults must be an array of tables ([[faults]])"
            )
        config.faults = [dict(f) for f in faults]
        scripts = data.get("scripts", [])
        if isinstance(scripts, str):
            scripts = [scripts]
        if not isinstance(scripts, list) or not all(isinstance(s, str) for s in scripts):
            raise EmulatorConfigError("emulator config: scripts must be a path or a list of paths")
        base = base_dir or Path.cwd()
        config.scripts = [base / s for s in scripts]
        entra = data.get("entra")
        if entra is not None:
            if not isinstance(entra, Mapping):
                raise EmulatorConfigError("emulator config: entra must be a table ([entra])")
            try:
                config.entra = EntraSettings.from_mapping(entra)
            except EntraConfigError as exc:
                raise EmulatorConfigError(str(exc)) from None
        return config

    def apply_settings(self, data: Mapping[str, Any], *, where: str = "config") -> None:
        """Apply the scalar switches (strict, pacing, body limit, region, auth)."""
        check_keys(data, frozenset(_SETTING_KEYS), where)
        if "strict" in data:
            self.strict = require_bool(data, "strict", where)
        if "require_auth" in data:
            self.require_auth = require_bool(data, "require_auth", where)
        if "stream_event_delay_ms" in data:
            self.stream_event_delay_ms = stream_event_delay_ms(data["stream_event_delay_ms"], where)
        if "max_body_bytes" in data:
            limit = optional_count(data["max_body_bytes"], f"{where} max_body_bytes")
            if not limit:
                raise EmulatorConfigError(f"{where}: max_body_bytes must be a positive integer")
            self.max_body_bytes = limit
        if "region" in data:
            region = data["region"]
            if region is not None and not isinstance(region, str):
                raise EmulatorConfigError(f"{where}: region must be a string, not {region!r}")
            if region:
                check_header_value(region, f"{where}: region")
            self.region = region or None

    def apply_quota_preset(self, preset: object, *, only_unset: bool = False) -> None:
        presets = catalog().quota_presets
        if not isinstance(preset, str) or preset not in presets:
            raise EmulatorConfigError(
                f"quota_preset must be one of {sorted(presets)}, not {preset!r}"
            )
        table = presets[preset]
        for deployment in self.deployments.values():
            if only_unset and any(getattr(deployment, key) is not None for key in _QUOTA_KEYS):
                continue
            limits = table.get(deployment.model, table["default"])
            for key in _QUOTA_KEYS:
                setattr(deployment, key, limits[key])

    def patch(self, data: Mapping[str, Any]) -> None:
        """Change deployments and switches at run time (``PATCH /_emulator/config``).

        ``{"deployments": {"name": {...} | null}}`` adds or updates a deployment (partial fields)
        or removes it; ``{"quotas": {"name": {"rpm": 5}}}`` sets limits; ``quota_preset`` applies a
        preset to every deployment; ``api_keys`` replaces the accepted keys (a rotation);
        ``seed`` (an integer or null) sets the fault plan's seed; the switches of
        :meth:`apply_settings` are set directly.
        """
        check_keys(data, _PATCH_KEYS, "config patch")
        keys = api_keys(data["api_keys"], "config patch") if "api_keys" in data else None
        seed = optional_int(data, "seed", "config patch")
        deployments = data.get("deployments", {})
        quotas = data.get("quotas", {})
        if not isinstance(deployments, Mapping) or not isinstance(quotas, Mapping):
            raise EmulatorConfigError(
                "config patch: deployments and quotas must be objects keyed by deployment name, "
                'e.g. {"quotas": {"claude-haiku-4-5": {"rpm": 5}}}'
            )
        # Validate everything on copies first so a bad patch changes nothing.
        staged = dict(self.deployments)
        for name, change in deployments.items():
            if change is None:
                if name not in staged:
                    raise EmulatorConfigError(f"config patch: no deployment named {name!r}")
                del staged[name]
            elif not isinstance(change, Mapping):
                raise EmulatorConfigError(f"config patch: deployments.{name} must be an object")
            elif name in staged:
                updated = DeploymentConfig(**vars(staged[name]))
                updated.update(change)
                staged[name] = updated
            else:
                staged[name] = DeploymentConfig.from_mapping({"name": name, **change})
        for name, limits in quotas.items():
            if name not in staged:
                raise EmulatorConfigError(f"config patch: no deployment named {name!r}")
            updated = DeploymentConfig(**vars(staged[name]))
            updated.update({"quotas": limits})
            staged[name] = updated
        patched = EmulatorConfig(**vars(self))
        patched.apply_settings(
            {key: data[key] for key in _SETTING_KEYS if key in data}, where="config patch"
        )
        if "quota_preset" in data:
            # The preset sets limits in place: on copies, so a bad preset changes nothing.
            staged = {name: DeploymentConfig(**vars(d)) for name, d in staged.items()}
            patched.deployments = staged
            patched.apply_quota_preset(data["quota_preset"])
        self.deployments = staged
        if keys is not None:
            self.api_keys = keys
        if "seed" in data:
            self.seed = seed
        for name in _SETTING_KEYS:
            setattr(self, name, getattr(patched, name))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able view; keys are counted, never shown."""
        return {
            "api_keys": len(self.api_keys),
            "require_auth": self.require_auth,
            "strict": self.strict,
            "stream_event_delay_ms": self.stream_event_delay_ms,
            "max_body_bytes": self.max_body_bytes,
            "region": self.region,
            "seed": self.seed,
            "journal_size": self.journal_size,
            "journal_max_bytes": self.journal_max_bytes,
            "allowed_hosts": sorted(self.allowed_hosts),
            "header_timeout_s": self.header_timeout_s,
            "keep_alive_s": self.keep_alive_s,
            "body_timeout_s": self.body_timeout_s,
            "quota_window_s": self.quota_window_s,
            "deployments": [d.to_dict() for d in self.deployments.values()],
            "faults": self.faults,
            "scripts": [str(path) for path in self.scripts],
            "entra": self.entra.to_dict(),
        }

    def __repr__(self) -> str:
        return (
            f"EmulatorConfig(api_keys=<{len(self.api_keys)} hidden>, strict={self.strict}, "
            f"deployments={sorted(self.deployments)})"
        )


_SETTING_KEYS = ("strict", "require_auth", "stream_event_delay_ms", "max_body_bytes", "region")
_TOP_KEYS = frozenset(
    {
        "api_key",
        "api_keys",
        *_SETTING_KEYS,
        "seed",
        "journal_size",
        "journal_max_bytes",
        "allowed_hosts",
        "header_timeout_s",
        "keep_alive_s",
        "body_timeout_s",
        "quota_window_s",
        "default_deployments",
        "deployments",
        "quota_preset",
        "faults",
        "scripts",
        "entra",
    }
)
_PATCH_KEYS = frozenset(
    {"deployments", "quotas", "quota_preset", "api_keys", "seed", *_SETTING_KEYS}
)


def _catalog_entry(model: str) -> dict[str, Any] | None:
    for entry in catalog().models:
        if entry["model"] == model:
            return entry
    return None
