"""Typed, validated cluster specs built from cluster.conf and flags (flags win)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .capabilities import CAPABILITIES
from .conffile import RawConfig, RawValue, parse_conf
from .pools import Placement, Pool, read_pools
from .schema import SECTIONS, KeyDef, check_path, lookup

NAME_RE = re.compile(r"^[a-z](?:[a-z0-9-]{0,30}[a-z0-9])?$")
USER_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")


def check_name(name: str, what: str = "cluster name") -> str:
    if not NAME_RE.match(name):
        raise ConfigError(
            f"{what} {name!r} is not valid: use 1-32 lowercase letters, digits and '-', "
            "starting with a letter (it becomes host names and cloud tags)"
        )
    return name


@dataclass
class Settings:
    """Every key of cluster.conf, typed, with defaults; knows where each value came from."""

    values: dict[tuple[str, str], Any] = field(default_factory=dict)
    sources: dict[tuple[str, str], str] = field(default_factory=dict)
    placeholders: dict[tuple[str, str], str] = field(default_factory=dict)

    def _keydef(self, section: str, key: str) -> KeyDef:
        keydef = lookup(section, key)
        if keydef is None:
            raise KeyError(f"[{section}] {key} is not a known key")
        return keydef

    def get(self, section: str, key: str) -> Any:
        keydef = self._keydef(section, key)
        return self.values.get((keydef.section, keydef.key), keydef.default)

    def put(self, section: str, key: str, value: Any, source: str) -> None:
        keydef = self._keydef(section, key)
        self.values[(keydef.section, keydef.key)] = value
        self.sources[(keydef.section, keydef.key)] = source

    def is_set(self, section: str, key: str) -> bool:
        keydef = self._keydef(section, key)
        return (keydef.section, keydef.key) in self.values

    def source(self, section: str, key: str) -> str:
        keydef = self._keydef(section, key)
        return self.sources.get((keydef.section, keydef.key), "default")

    def require(self, section: str, key: str) -> Any:
        """The value, or one clear line naming the key that is missing (or still a placeholder)."""
        keydef = self._keydef(section, key)
        value = self.get(section, key)
        if value in (None, "", []):
            where = (keydef.section, keydef.key)
            if where in self.placeholders:
                raise ConfigError(
                    f"{self.sources[where]}: [{keydef.section}] {keydef.name} is still the "
                    f"guide's placeholder {self.placeholders[where]}; fill it in"
                )
            raise ConfigError(
                f"[{keydef.section}] {keydef.name} is not set: add it to cluster.conf "
                f"or pass {keydef.flag}"
            )
        return value

    def public(self) -> dict[str, dict[str, Any]]:
        """The values that are set, secrets left out: safe for state and --json."""
        out: dict[str, dict[str, Any]] = {}
        for (section, key), value in self.values.items():
            keydef = SECTIONS[section][key]
            if not keydef.secret:
                out.setdefault(section, {})[keydef.name] = value
        return out

    @classmethod
    def from_public(cls, data: dict[str, dict[str, Any]]) -> Settings:
        settings = cls()
        for section, keys in data.items():
            for name, value in keys.items():
                keydef = lookup(section, name)
                if keydef is not None:
                    settings.values[(keydef.section, keydef.key)] = value
                    settings.sources[(keydef.section, keydef.key)] = "state"
        return settings


@dataclass(frozen=True)
class FirewallRule:
    name: str
    port: int
    protocol: str


@dataclass
class ClusterSpec:
    name: str
    head: Placement
    pools: list[Pool]
    scheduler: str
    shared_dir: str
    cluster_user: str
    accounting: bool
    firewall: list[FirewallRule]
    settings: Settings
    overlay: bool  # nodes joined by the WireGuard overlay (bootstrap/overlay.py)

    @property
    def provider(self) -> str:
        """The head's provider: the cluster's home (its disks, its spot requests)."""
        return self.head.provider

    @property
    def providers(self) -> list[str]:
        return list(dict.fromkeys([self.head.provider, *(p.provider for p in self.pools)]))

    @property
    def size(self) -> int:
        return sum(pool.count for pool in self.pools)

    @property
    def spot(self) -> bool:
        return any(pool.spot for pool in self.pools)

    @property
    def spot_price(self) -> float | None:
        return next((pool.max_price for pool in self.pools if pool.spot), None)

    @property
    def packages(self) -> list[str]:
        """[SOFTWARE] PACKAGES: what every node installs."""
        return list(self.settings.get("SOFTWARE", "PACKAGES"))

    @property
    def places(self) -> list[str]:
        """Every distinct place of the cluster (the head's first)."""
        return list(dict.fromkeys([self.head.name, *(p.name for p in self.pools)]))

    def pool(self, name: str) -> Pool:
        for pool in self.pools:
            if pool.name == name:
                return pool
        raise ConfigError(f"cluster {self.name} has no pool {name!r} "
                          f"(pools: {', '.join(p.name for p in self.pools)})")

    def at(self, place: Placement) -> ClusterSpec:
        """This spec as one place's provider sees it: the settings of that site, and only the
        pool there (none for the head's own place without compute nodes)."""
        settings = Settings(dict(self.settings.values), dict(self.settings.sources),
                            dict(self.settings.placeholders))
        if place.site:
            settings.values[CAPABILITIES[place.provider].site_key] = place.site
        return replace(self, pools=[p for p in self.pools if p.name == place.name],
                       settings=settings)

    def to_public(self) -> dict[str, Any]:
        # size: so `cluster list` reads it without building the spec (from_public ignores it)
        return {"name": self.name, "provider": self.provider, "size": self.size,
                "settings": self.settings.public()}

    @classmethod
    def from_public(cls, data: dict[str, Any]) -> ClusterSpec:
        return build_spec(Settings.from_public(data["settings"]), name=data["name"])


def _convert(keydef: KeyDef, raw: RawValue) -> Any:
    try:
        return keydef.convert(raw.text)
    except ValueError as err:
        raise ConfigError(f"{raw.source}: [{keydef.section}] {keydef.name}: {err}") from None


def _settings_from_raw(raw: RawConfig) -> Settings:
    settings = Settings()
    for (section, key), value in raw.items():
        keydef = SECTIONS[section][key]
        settings.sources[(section, key)] = value.source
        if value.is_placeholder or value.text == "":
            settings.placeholders[(section, key)] = value.text
            continue
        settings.values[(section, key)] = _convert(keydef, value)
    return settings


def _firewall(settings: Settings) -> list[FirewallRule]:
    names = settings.get("FIREWALL", "FW_NAME")
    ports = settings.get("FIREWALL", "FW_PORT")
    protocols = settings.get("FIREWALL", "FW_PROTOCOL") or ["tcp"] * len(ports)
    if not (len(names) == len(ports) == len(protocols)):
        raise ConfigError(
            f"[FIREWALL] FW_NAME, FW_PORT and FW_PROTOCOL must list the same number of items "
            f"(got {len(names)}, {len(ports)}, {len(protocols)})"
        )
    rules = []
    for name, port, protocol in zip(names, ports, protocols, strict=True):
        if not 1 <= port <= 65535:
            raise ConfigError(f"[FIREWALL] FW_PORT: {port} is not a port number (1-65535)")
        if protocol.lower() not in ("tcp", "udp"):
            raise ConfigError(f"[FIREWALL] FW_PROTOCOL: expected tcp or udp, got {protocol!r}")
        if not re.match(r"^[a-z][a-z0-9-]{0,40}$", name.lower()):
            raise ConfigError(f"[FIREWALL] FW_NAME: {name!r} is not a valid rule name")
        rules.append(FirewallRule(name.lower(), port, protocol.lower()))
    return rules


def build_spec(settings: Settings, name: str | None = None) -> ClusterSpec:
    name = name or settings.get("CLUSTER", "CLUSTER_PREFIX")
    if not name:
        raise ConfigError("a cluster needs a name: pass --name or set [CLUSTER] CLUSTER_PREFIX")
    head, pools = read_pools(settings)
    user = settings.get("CLUSTER", "CLUSTER_USER")
    if not USER_RE.match(user) or user == "root":
        raise ConfigError(f"[CLUSTER] CLUSTER_USER {user!r} is not a valid non-root user name")
    overlay = settings.get("CLUSTER", "OVERLAY")
    places = {head.name, *(p.name for p in pools)}
    overlay = len(places) > 1 if overlay is None else overlay
    if overlay and not CAPABILITIES[head.provider].overlay_hub:
        hubs = ", ".join(p for p, c in CAPABILITIES.items() if c.overlay_hub)
        raise ConfigError(f"a head on {head.provider} cannot be the overlay's hub yet (its firewall "
                          f"rule for the overlay is not made): put the head on {hubs}")
    return ClusterSpec(
        name=check_name(name),
        head=head,
        pools=pools,
        scheduler=settings.get("CLUSTER", "SCHEDULER"),
        shared_dir=check_path(settings.get("CLUSTER", "SHARED_DIR"), "[CLUSTER] SHARED_DIR"),
        cluster_user=user,
        accounting=settings.get("CLUSTER", "ACCOUNTING"),
        firewall=_firewall(settings),
        settings=settings,
        overlay=overlay,
    )


def find_config(path: str | Path | None) -> Path | None:
    """--config, else $EHPC_CONFIG, else ./cluster.conf when it exists (the guide's layout)."""
    if path:
        return Path(path)
    env = os.environ.get("EHPC_CONFIG")
    if env:
        return Path(env)
    default = Path("cluster.conf")
    return default if default.is_file() else None


def load_settings(
    config: str | Path | None = None, overrides: dict[tuple[str, str], str] | None = None
) -> Settings:
    """cluster.conf (if any) then overrides, keyed by (SECTION, key in any spelling)."""
    path = find_config(config)
    raw: RawConfig = parse_conf(path) if path else {}
    for (section, key), text in (overrides or {}).items():
        keydef = lookup(section, key)
        if keydef is None:
            raise ConfigError(f"[{section}] {key} is not a known setting")
        raw[(keydef.section, keydef.key)] = RawValue(str(text), keydef.flag)
    return _settings_from_raw(raw)


def load_spec(
    config: str | Path | None = None, overrides: dict[tuple[str, str], str] | None = None
) -> ClusterSpec:
    return build_spec(load_settings(config, overrides))
