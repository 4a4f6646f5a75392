"""Elastic operations the client asks of a running cluster: resize, its events, and (local
provider) taking a spot node away as a cloud would.

Resize runs in the head agent, which makes every change to the cluster's nodes under one lock;
the client then takes the agent's node list into its journal and SSH files.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import uuid

from ..agent.install import call_agent, sync_nodes
from ..config import Settings
from ..errors import ConfigError, EhpcError
from ..state import Journal, NodeRow
from .context import ClusterContext, open_cluster


def resize_cluster(name: str, add: int = 0, remove: list[str] | None = None, now: bool = False,
                   journal: Journal | None = None, settings: Settings | None = None) -> list[NodeRow]:
    """Add `add` compute nodes and/or remove the nodes `remove` (drained first, or their jobs
    requeued with `now`); returns the cluster's nodes afterwards."""
    remove = remove or []
    if not add and not remove:
        raise ConfigError("resize needs --add N or --remove NODE...")
    if add < 0:
        raise ConfigError(f"--add takes a positive number of nodes, got {add}")
    context = open_cluster(name, journal, settings)
    with context.journal.cluster_lock(name, "being resized"):
        return _resize(context, add, remove, now)


def _resize(context: ClusterContext, add: int, remove: list[str], now: bool) -> list[NodeRow]:
    name = context.name
    if context.row.status != "running":
        raise EhpcError(f"cluster {name} is {context.row.status}: only a running cluster is resized")
    _check_room(context, add)
    names = {n.name for n in context.nodes}
    full = [n if n in names else f"{name}-{n}" for n in remove]
    argv = ["resize", *(["--add", str(add)] if add else []), *(["--remove", *full] if full else []),
            *(["--now"] if now else [])]
    asked = shlex.join(argv[1:])
    # A resize is not repeatable (--add 1 twice is two nodes), so each carries a request id the
    # agent does once: a rerun of one cut short (the client killed, the agent carrying on) sends
    # the same id again and gets the agent's result instead of a second resize.
    request = _unfinished(context.journal, name, asked) or uuid.uuid4().hex[:12]
    context.journal.event(name, "resize", f"{request} asked: {asked}")
    # The agent's progress lines go straight to this terminal; its result is the node list.
    ssh = context.shell.ssh_argv(context.head, ["/var/lib/ehpc-agent/ehpc-agent", *argv,
                                                "--request", request])
    result = subprocess.run(ssh, stdout=subprocess.PIPE, stderr=sys.stderr, text=True)
    if result.returncode != 0:
        raise EhpcError(f"resize of {name} failed on the head (`ehpc cluster events {name}`; "
                        f"{shlex.join(argv)})")
    context.journal.event(name, "resize", f"{request} done: {asked}")
    return sync_nodes(context)


def _unfinished(journal: Journal, name: str, asked: str) -> str:
    """The request id of this very resize when the journal's last word on resizes is that it
    was asked and not that it was done (the command was killed); else ""."""
    said = journal.messages(name, "resize")
    request, _, rest = said[-1].partition(" ") if said else ("", "", "")
    return request if rest == f"asked: {asked}" else ""


def cluster_events(name: str, journal: Journal | None = None) -> list[tuple[float, str, str]]:
    """The client's events and the head agent's, in time order."""
    context = open_cluster(name, journal)
    events = list(context.journal.events(name))
    if context.row.status == "running":
        try:
            events += [tuple(e) for e in call_agent(context, ["events"], timeout=60)]
        except EhpcError as err:
            events.append((0.0, "agent", f"unreachable: {err}"))
    return sorted(set(events))  # type: ignore[arg-type]


def reclaim_node(name: str, node: str, journal: Journal | None = None,
                 no_capacity_s: float = 0.0) -> str:
    """Take spot node `node` of a local cluster away, as a cloud reclaims spot capacity (and,
    with `no_capacity_s`, refuses new spot machines at its site for that long)."""
    context = open_cluster(name, journal)
    if set(context.spec.providers) != {"local"}:
        raise EhpcError("`node reclaim` is the local provider's stand-in for a cloud reclaiming spot "
                        f"capacity; {name} is on {context.row.provider}")
    full = node if node.startswith(f"{name}-") else f"{name}-{node}"
    context.provider.reclaim(name, full, no_capacity_s)  # type: ignore[attr-defined]
    context.journal.event(name, "reclaim", f"{full} reclaimed (ehpc node reclaim)")
    return full


def _check_room(context: ClusterContext, add: int) -> None:
    """--add goes to the first pool: its provider's node limit, as create checks it."""
    from ..config.capabilities import CAPABILITIES

    provider = context.spec.pools[0].provider
    have = sum(1 for n in context.nodes if n.role == "compute" and n.provider == provider)
    limit = CAPABILITIES[provider].max_nodes
    if have + add > limit:
        raise ConfigError(f"--add {add}: {context.name} would have {have + add} compute nodes on "
                          f"{provider}, more than its limit of {limit}")
