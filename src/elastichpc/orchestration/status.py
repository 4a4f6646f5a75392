"""A cluster at a glance: state and why, nodes by state, scheduler health, the shared file
system, the last events and the command that continues or cleans up (`ehpc cluster status`);
`reason` alone (journal only) is the short note of `ehpc cluster list`."""

from __future__ import annotations

import shlex
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import EhpcError
from ..state import ClusterRow, Journal, NodeRow

if TYPE_CHECKING:
    from ..config import Settings
    from .context import ClusterContext
    from .fleet import Fleet

# Status words a cluster is left in when something did not finish, with what each means.
HALF_MADE = {
    "creating": "create started and did not finish (or is still running)",
    "provisioned": "machines only (--provision-only): no scheduler yet",
    "failed": "create failed",
    "terminating": "terminate started and did not finish",
}


def reason(journal: Journal, row: ClusterRow) -> str:
    """Why a failed or half-made cluster is as it is, in one line ("" for a running one)."""
    if row.status not in HALF_MADE:
        return ""
    for _, kind, message in reversed(journal.events(row.name)):
        if kind == "interrupted":
            return message
        if kind == "status":
            word, _, detail = message.partition(" ")
            if word == row.status and detail and detail != "(resumed)":
                return detail.splitlines()[0]
            break
    return HALF_MADE[row.status]


def create_command(row: ClusterRow) -> str:
    """The create command line of a cluster, from its recorded (public) settings: secrets are
    never recorded, so they come from cluster.conf or flags again."""
    from ..config.schema import lookup

    words = ["ehpc", "cluster", "create"]
    for section, keys in row.spec.get("settings", {}).items():
        for name, value in keys.items():
            keydef = lookup(section, name)
            if keydef is None:
                continue
            if isinstance(value, list):
                value = ",".join(str(v) for v in value)
            elif isinstance(value, bool):
                value = "true" if value else "false"
            words += [keydef.flag, str(value)]
    return shlex.join(words)


def next_steps(row: ClusterRow) -> list[str]:
    """The commands that continue, use or clean up a cluster in its state."""
    terminate = f"ehpc cluster terminate {row.name}"
    if row.status == "running":
        return [f"ehpc job submit {row.name} -- hostname", terminate]
    if row.status in ("creating", "failed"):
        return [f"{create_command(row)}  # finishes the create", f"{terminate}  # or remove it"]
    if row.status == "provisioned":
        return [f"{create_command(row)}  # bootstraps the machines", terminate]
    return [f"{terminate}  # finishes removing it"]


@dataclass
class ClusterStatus:
    name: str
    state: str
    reason: str
    providers: list[str]
    scheduler: str
    created_at: float
    age_s: float
    size: int
    nodes: dict[str, int]  # state as the provider sees it -> count
    scheduler_health: dict[str, Any]  # responding, nodes by scheduler state, or the error
    shared_fs: dict[str, Any]  # path, kind (glusterfs, nfs, directory), file system, use
    events: list[dict[str, Any]] = field(default_factory=list)
    next: list[str] = field(default_factory=list)
    cost: dict[str, Any] = field(default_factory=dict)  # CostReport.to_json(), and a "note"


def cluster_status(name: str, journal: Journal | None = None, settings: Settings | None = None,
                   events: int = 5) -> ClusterStatus:
    """Everything `ehpc cluster status` shows: the provider's inventory and one SSH call to
    the head (scheduler and shared file system), both at once."""
    from concurrent.futures import ThreadPoolExecutor

    from .context import open_cluster
    from .cost import cluster_cost
    from .resize import cluster_events

    context = open_cluster(name, journal, settings)
    row, spec = context.row, context.spec
    fleet, recorded = context.fleet, context.nodes  # read here: the journal is this thread's
    with ThreadPoolExecutor(max_workers=2) as pool:
        machines = pool.submit(_machines, fleet, recorded)
        head = pool.submit(_probe_head, context) if recorded else None
        nodes = machines.result()
        health, shared = head.result() if head else ({"responding": False,
                                                      "error": "no head node yet"}, {})
    shared = {"path": spec.shared_dir, "kind": _shared_kind(spec), **shared}
    cost, note = cluster_cost(context)
    providers = sorted({*row.provider.split(","), *(n.provider for n in recorded if n.provider)})
    return ClusterStatus(
        name=name, state=row.status, reason=reason(context.journal, row), providers=providers,
        scheduler=spec.scheduler, created_at=row.created_at,
        age_s=time.time() - row.created_at, size=spec.size, nodes=nodes,
        scheduler_health=health, shared_fs=shared,
        events=[{"at": at, "kind": kind, "message": message}  # the head agent's too
                for at, kind, message in cluster_events(name, context.journal)[-events:]],
        next=next_steps(row),
        cost={**cost.to_json(), "note": note},
    )


def _shared_kind(spec: Any) -> str:
    settings = spec.settings
    if settings.get("CLUSTER", "GLUSTER"):
        return "glusterfs"
    if settings.get("CLUSTER", "NFS") or settings.is_set("NFS", "AWS_VOLUME_SIZE"):
        return "nfs"
    return "directory"


def _machines(fleet: Fleet, recorded: list[NodeRow]) -> dict[str, int]:
    """Nodes by state: the providers' view; journaled nodes they do not find are `missing`."""
    try:
        found = {m.name: m.state for m in fleet.machines()}
    except EhpcError as err:
        return {f"unknown ({err})": len(recorded)}
    counts: dict[str, int] = {}
    for node in {n.name for n in recorded} | set(found):
        state = found.get(node, "missing")
        counts[state] = counts.get(state, 0) + 1
    return counts


def _probe_head(context: ClusterContext) -> tuple[dict[str, Any], dict[str, Any]]:
    """One SSH call: the scheduler's node list (is it answering?) and `df` of the shared dir."""
    import secrets

    if context.row.status != "running":  # never SSH to machines that were not bootstrapped
        return {"responding": False, "error": f"not bootstrapped ({context.row.status})"}, {}
    mark = f"--ehpc-{secrets.token_hex(6)}--"
    shared = context.spec.shared_dir
    script = (f"{shlex.join(context.scheduler.nodes_argv())} 2>&1; echo {mark} $?\n"
              f"df -PT {shlex.quote(shared)} 2>&1 | tail -n 1\n")
    try:
        result = context.shell.run(context.head, ["bash", "-c", script], check=False, timeout=30)
    except (EhpcError, OSError) as err:
        return {"responding": False, "error": f"head not reachable: {err}"}, {}
    nodes_out, _, rest = result.stdout.partition(mark)
    code, _, df_line = rest.strip().partition("\n")
    if mark not in result.stdout:
        detail = (result.stderr.strip().splitlines() or ["no answer"])[-1]
        return {"responding": False, "error": f"head not reachable: {detail}"}, {}
    if code.strip() != "0":
        last = (nodes_out.strip().splitlines() or [f"exit code {code.strip()}"])[-1]
        health: dict[str, Any] = {"responding": False, "error": last}
    else:
        states: dict[str, int] = {}
        for state in context.scheduler.parse_nodes(nodes_out).values():
            states[state] = states.get(state, 0) + 1
        health = {"responding": True, "nodes": states}
    return health, _df(df_line, shared)


def _df(line: str, path: str) -> dict[str, Any]:
    fields = line.split()
    if len(fields) < 7 or not fields[2].isdigit():
        return {"error": line.strip() or "df gave no answer"}
    return {"filesystem": fields[1], "source": fields[0], "own_mount": fields[6] == path,
            "size_gb": round(int(fields[2]) / 2**20, 1), "used_gb": round(int(fields[3]) / 2**20, 1)}
