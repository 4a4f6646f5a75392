"""A cluster's firewall rules, all on its network tag.

Firewall rules cannot carry labels in Compute Engine, so each rule says whose it is in its
description (`ehpc-cluster=<name>`) and its name starts with `ehpc-<name>-`; both are checked
when rules are found again.
"""

from __future__ import annotations

from google.cloud import compute_v1

from ...config import ClusterSpec
from ..base import TAG


def marker(cluster: str) -> str:
    return f"{TAG}={cluster}"


def rule_name(cluster: str, rule: str) -> str:
    return f"ehpc-{cluster}-{rule}"[:63].rstrip("-")


def cluster_rules(spec: ClusterSpec, network: str, tag: str, source: str) -> list[compute_v1.Firewall]:
    """SSH from the caller's range, everything between the cluster's nodes, and [FIREWALL]."""

    def rule(name: str, allowed: list[compute_v1.Allowed], **sources: list[str]) -> compute_v1.Firewall:
        return compute_v1.Firewall(
            name=rule_name(spec.name, name), description=marker(spec.name),
            network=f"global/networks/{network}", direction="INGRESS", priority=1000,
            allowed=allowed, target_tags=[tag], **sources,
        )

    rules = [
        rule("ssh", [compute_v1.Allowed(I_p_protocol="tcp", ports=["22"])], source_ranges=[source]),
        rule("internal", [compute_v1.Allowed(I_p_protocol=p) for p in ("tcp", "udp", "icmp")],
             source_tags=[tag]),
    ]
    rules += [
        rule(fw.name, [compute_v1.Allowed(I_p_protocol=fw.protocol, ports=[str(fw.port)])],
             source_ranges=[source])
        for fw in spec.firewall
    ]
    return rules


def overlay_rule(cluster: str, network: str, port: int, sources: list[str]) -> compute_v1.Firewall:
    """The overlay's UDP port on the cluster's instances, from these /32s only."""
    return compute_v1.Firewall(
        name=rule_name(cluster, "overlay"), description=marker(cluster),
        network=f"global/networks/{network}", direction="INGRESS", priority=1000,
        allowed=[compute_v1.Allowed(I_p_protocol="udp", ports=[str(port)])],
        target_tags=[f"ehpc-{cluster}"], source_ranges=[f"{s}/32" for s in sources],
    )


def is_cluster_rule(firewall: compute_v1.Firewall, cluster: str) -> bool:
    return firewall.description == marker(cluster) and firewall.name.startswith(f"ehpc-{cluster}-")
