"""Terminating a cluster: everything the provider finds by tag, then keys and journal rows.

Works on a half-created cluster, on one whose journal row is gone (provider and cluster name are
enough: the cloud is searched by tag), and a second time (then it finds nothing to do).
"""

from __future__ import annotations

import shutil

from ..config import Settings, check_name
from ..providers import get_provider
from ..remote import close_connections
from ..state import Journal
from .context import ClusterContext
from .progress import Progress


def terminate_cluster(
    name: str,
    progress: Progress | None = None,
    journal: Journal | None = None,
    provider_name: str | None = None,
    settings: Settings | None = None,
) -> list[str]:
    """Remove the cluster; returns what was removed (empty: there was nothing left).

    When the journal does not know the cluster, the provider (`provider_name`, default local)
    is searched for resources tagged with its name."""
    check_name(name)
    progress = progress or Progress()
    journal = journal or Journal()
    row = journal.get_cluster(name)
    if row is not None:
        provider = ClusterContext(journal, row, settings).provider
        journal.set_status(name, "terminating")
    else:
        provider = get_provider(provider_name or "local", settings or Settings())
    provider.check_ready()
    directory = journal.directory / "clusters" / name
    close_connections(directory)
    with progress.step(f"terminating {name} on {provider.name}"):
        removed = provider.terminate(name, progress.detail)
    if directory.exists():
        shutil.rmtree(directory)
    if row is not None:
        journal.remove_cluster(name)
    return removed
