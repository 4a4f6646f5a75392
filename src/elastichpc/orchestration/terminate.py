"""Terminating a cluster: everything its providers find by tag, then keys and journal rows.

Works on a half-created cluster, on one whose journal row is gone (the providers and the cluster
name are enough: each is searched by tag), and a second time (then it finds nothing to do).
"""

from __future__ import annotations

import shutil

from ..config import CAPABILITIES, Settings, check_name
from ..providers import get_provider
from ..remote import close_connections
from ..state import Journal
from .context import ClusterContext
from .fleet import each
from .progress import Progress


def searched(provider: str | None, settings: Settings) -> list[str]:
    """The providers to search by tag for a cluster the journal does not know: the one named,
    else the local host and every cloud whose account the settings (cluster.conf) give."""
    if provider:
        return [provider]
    return ["local", *(name for name, can in CAPABILITIES.items()
                       if can.account_key and settings.is_set(*can.account_key))]


def terminate_cluster(
    name: str,
    progress: Progress | None = None,
    journal: Journal | None = None,
    provider_name: str | None = None,
    settings: Settings | None = None,
) -> list[str]:
    """Remove the cluster; returns what was removed (empty: there was nothing left).

    When the journal does not know the cluster, the providers `searched` names are searched
    for resources tagged with its name."""
    check_name(name)
    progress = progress or Progress()
    journal = journal or Journal()
    with journal.cluster_lock(name, "being terminated"):
        return _terminate(name, progress, journal, provider_name, settings)


def _terminate(name: str, progress: Progress, journal: Journal, provider_name: str | None,
               settings: Settings | None) -> list[str]:
    row = journal.get_cluster(name)
    directory = journal.directory / "clusters" / name
    if row is not None:
        from ..agent.install import stop_agent

        context = ClusterContext(journal, row, settings)
        fleet = context.fleet
        journal.set_status(name, "terminating")
        fleet.check_ready(launching=False)
        stop_agent(context, progress)
        close_connections(directory)
        with progress.step(f"terminating {name} on {row.provider}"):
            removed = fleet.terminate(progress.detail)
    else:
        settings = settings or Settings()
        providers = [get_provider(name, settings) for name in searched(provider_name, settings)]
        each(lambda p: p.check_ready(), providers)
        close_connections(directory)
        with progress.step(f"terminating {name} on {', '.join(p.name for p in providers)}"):
            removed = [item for p in providers for item in p.terminate(name, progress.detail)]
    if directory.exists():
        shutil.rmtree(directory)
    if row is not None:
        journal.remove_cluster(name)
    return removed


def forget_cluster(name: str, reason: str, journal: Journal | None = None) -> str:
    """Drop a cluster whose provider cannot be reached from the journal (and its keys), after a
    terminate failed for `reason`; returns the line that says what could not be verified."""
    check_name(name)
    journal = journal or Journal()
    row = journal.get_cluster(name)
    if row is None:
        return f"no cluster named {name} is known here: nothing to forget"
    nodes = journal.nodes(name)
    ids = ", ".join(n.provider_id or n.name for n in nodes[:5]) + (" ..." if len(nodes) > 5 else "")
    journal.event(name, "forgotten", f"forgotten without terminating: {reason}")
    directory = journal.directory / "clusters" / name
    close_connections(directory)
    if directory.exists():
        shutil.rmtree(directory)
    journal.remove_cluster(name)
    return (f"forgot cluster {name} without removing anything on {row.provider} ({reason}); not "
            f"verified: {len(nodes)} machines ({ids or 'none recorded'}) and any disks, networks "
            f"or firewall rules tagged ehpc-cluster={name}: check them at the provider")

