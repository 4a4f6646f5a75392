"""cluster.conf and flags, validated into typed specs."""

from .capabilities import CAPABILITIES, Capabilities
from .pools import Placement, Pool, parse_placement, parse_pool
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
    "CAPABILITIES",
    "PROVIDERS",
    "SCHEDULERS",
    "Capabilities",
    "ClusterSpec",
    "FirewallRule",
    "KeyDef",
    "Placement",
    "Pool",
    "Settings",
    "all_keys",
    "build_spec",
    "check_name",
    "find_config",
    "load_settings",
    "load_spec",
    "lookup",
    "normalize",
    "parse_placement",
    "parse_pool",
]
