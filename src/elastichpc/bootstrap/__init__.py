"""Turning reachable machines into a cluster, with scripts that run unchanged on every provider."""

from .layout import CLUSTER_UID, ClusterLayout, NodeFacts
from .render import (
    boot_script,
    configure_script,
    install_script,
    known_hosts_script,
    membership_script,
    required_commands,
)

__all__ = [
    "CLUSTER_UID",
    "ClusterLayout",
    "NodeFacts",
    "boot_script",
    "configure_script",
    "install_script",
    "known_hosts_script",
    "membership_script",
    "required_commands",
]
