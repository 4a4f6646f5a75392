"""The journal's side of making nodes: a cluster's row when a create starts or resumes, and a
row per machine (with its provider, pool, region and market) as machines come up."""

from __future__ import annotations

from ..config import ClusterSpec
from ..errors import EhpcError
from ..providers import Machine
from ..state import Journal, NodeRow

RESUMABLE = ("creating", "failed", "provisioned")


def providers_label(spec: ClusterSpec) -> str:
    """The journal's `clusters.provider`: the head's provider, then the pools' others."""
    return ",".join(spec.providers)


def start_cluster(spec: ClusterSpec, journal: Journal) -> None:
    """Record the cluster as `creating`, or resume a create that did not finish; refuse a name
    that is taken."""
    row = journal.get_cluster(spec.name)
    if row is None:
        journal.add_cluster(spec.name, providers_label(spec), "creating", spec.to_public())
    elif row.status in RESUMABLE and row.provider == providers_label(spec):
        before = ClusterSpec.from_public(row.spec)
        if (before.size, before.scheduler) != (spec.size, spec.scheduler):
            raise EhpcError(
                f"cluster {spec.name!r} was started with --size {before.size} and "
                f"{before.scheduler}: rerun with the same to finish it, or terminate it first"
            )
        journal.set_status(spec.name, "creating", "(resumed)")
    else:
        raise EhpcError(
            f"cluster {spec.name!r} already exists on {row.provider} ({row.status}): "
            f"pick another name or run `ehpc cluster terminate {spec.name}` first"
        )


def node_row(cluster: str, machine: Machine) -> NodeRow:
    return NodeRow(
        cluster, machine.name, machine.role, machine.provider_id, machine.address,
        machine.private_address, machine.state,
        {"login_user": machine.login_user, "spot": machine.spot, **machine.extra},
        provider=machine.provider, pool=machine.pool, region=machine.region,
        market="spot" if machine.spot else "on-demand",
    )


def record_machines(journal: Journal, cluster: str, machines: list[Machine]) -> None:
    """Record (or update) machines, keeping what the journal already knows of them that the
    provider does not (the overlay address)."""
    known = {row.name: row for row in journal.nodes(cluster)}
    rows = []
    for machine in machines:
        row = node_row(cluster, machine)
        if machine.name in known:
            row.overlay_address = known[machine.name].overlay_address
        rows.append(row)
    journal.put_nodes(rows)
