"""cluster.conf and flags, validated into typed specs."""

from .schema import PROVIDERS, SCHEDULERS, KeyDef, all_keys, lookup, normalize
from .spec import (
    ClusterSpec,
    FirewallRule,
    Settings,
    build_spec,
    check_name,
    find_config,
    load_settings,
    load_spec,
)

__all__ = [
    "PROVIDERS",
    "SCHEDULERS",
    "ClusterSpec",
    "FirewallRule",
    "KeyDef",
    "Settings",
    "all_keys",
    "build_spec",
    "check_name",
    "find_config",
    "load_settings",
    "load_spec",
    "lookup",
    "normalize",
]
