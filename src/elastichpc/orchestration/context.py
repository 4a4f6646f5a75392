"""Opening a known cluster: its journal row, spec, provider and SSH shell."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING

from ..config import ClusterSpec, Settings, check_name
from ..errors import ClusterNotFound, EhpcError
from ..providers import Machine, Provider
from ..remote import ClusterKeys, ClusterShell
from ..schedulers import Scheduler, get_scheduler
from ..state import ClusterRow, Journal, NodeRow

if TYPE_CHECKING:
    from .fleet import Fleet


@dataclass
class ClusterContext:
    journal: Journal
    row: ClusterRow
    settings: Settings | None = None  # credentials from this call's config, when given

    @cached_property
    def spec(self) -> ClusterSpec:
        spec = ClusterSpec.from_public(self.row.spec)
        if self.settings is not None:  # this call's secrets (never stored) join the stored spec
            spec.settings.values.update(
                {k: v for k, v in self.settings.values.items() if k not in spec.settings.values}
            )
        return spec

    @property
    def name(self) -> str:
        return self.row.name

    @cached_property
    def fleet(self) -> Fleet:
        """The cluster's providers, each node routed to the pool the journal recorded (imported
        here: commands that only talk to the head, such as job status, never need them)."""
        from .fleet import Fleet

        return Fleet(self.spec, {n.name: n.pool for n in self.nodes if n.pool})

    def machines(self) -> list[Machine]:
        """The cluster's machines as the providers find them, each with the address the other
        nodes reach it at (its overlay address when the cluster has an overlay)."""
        overlay = {n.name: n.overlay_address for n in self.nodes if n.overlay_address}
        return [replace(m, private_address=overlay.get(m.name, m.private_address))
                for m in self.fleet.machines()]

    @property
    def provider(self) -> Provider:
        """The head's provider (the cluster's disks, volumes and spot requests live there)."""
        return self.fleet.head

    @cached_property
    def scheduler(self) -> Scheduler:
        return get_scheduler(self.spec.scheduler)

    @cached_property
    def nodes(self) -> list[NodeRow]:
        return self.journal.nodes(self.name)

    @property
    def head(self) -> str:
        for node in self.nodes:
            if node.role == "head":
                return node.name
        raise ClusterNotFound(f"cluster {self.name} has no head node yet (status {self.row.status})")

    def node_named(self, word: str) -> str:
        """A node by its name as `nodes list` shows it (demo-node2) or without the cluster's
        prefix (node2)."""
        names = {n.name for n in self.nodes}
        node = word if word in names else f"{self.name}-{word}"
        if node not in names:
            raise EhpcError(f"cluster {self.name} has no node {word!r} "
                            f"(nodes: {', '.join(sorted(names))})")
        return node

    @cached_property
    def keys(self) -> ClusterKeys:
        return ClusterKeys(self.journal.cluster_dir(self.name), self.name)

    @cached_property
    def shell(self) -> ClusterShell:
        users = {n.name: n.info.get("login_user", "root") for n in self.nodes}
        return ClusterShell(self.journal.cluster_dir(self.name), users)


def open_cluster(
    name: str, journal: Journal | None = None, settings: Settings | None = None
) -> ClusterContext:
    check_name(name)
    journal = journal or Journal()
    row = journal.get_cluster(name)
    if row is None:
        known = ", ".join(r.name for r in journal.clusters()) or "none"
        raise ClusterNotFound(f"no cluster named {name!r} (known clusters: {known})")
    return ClusterContext(journal, row, settings)
