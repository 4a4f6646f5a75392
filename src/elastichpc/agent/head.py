"""The agent's view of its cluster, on the head: its own journal, keys, and provider access.

`seed` takes what the client uploaded; `open_head` gives the same ClusterContext the client's
commands use, with the provider built from the root-only credentials file (on the local
provider, the cluster's control endpoint instead of the host itself; on a cloud, the
environment its SDK reads: the client's resolved credentials, region and endpoints).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..config import Settings
from ..orchestration.context import ClusterContext
from ..orchestration.membership import write_cluster_ssh
from ..providers.local.files import exclusive
from ..state import Journal, NodeRow
from ..state.runs import Run
from . import AGENT_DIR


def state_dir(directory: Path) -> Path:
    return directory / "state"


def on_head(journal: Journal) -> bool:
    """Whether this journal is a head agent's own (the agent's code runs the client's job
    functions too: it must not call itself over SSH)."""
    return journal.directory.resolve() == state_dir(Path(AGENT_DIR)).resolve()


def open_head(directory: Path) -> ClusterContext:
    journal = Journal(state_dir(directory))
    (row,) = journal.clusters()
    secrets = json.loads((directory / "credentials.json").read_text())
    os.environ.update(secrets.get("environment", {}))  # before any provider is made
    settings = Settings({(section, key): value for section, key, value in secrets["secrets"]})
    context = ClusterContext(journal, row, settings)
    files = directory / "files"
    for section, key, data in secrets.get("files", []):
        # The setting names a file of the client: here it names the head's copy.
        files.mkdir(mode=0o700, exist_ok=True)
        copy = files / f"{section}.{key}".replace(" ", "_")
        copy.touch(mode=0o600)
        copy.write_bytes(base64.b64decode(data))
        context.spec.settings.put(section, key, str(copy), "the client's file")
    context.fleet.from_head = True
    if "control_url" in secrets["access"]:  # local places: through the control endpoint
        from ..providers.local.control import ControlClient

        client = ControlClient(context.spec.settings, secrets["access"]["control_url"],
                               secrets["access"]["control_token"])
        for place in context.fleet.places:
            if place.provider == "local":
                context.fleet.use(place.name, client)
    return context


@contextmanager
def membership_lock(directory: Path) -> Iterator[None]:
    """One change of the cluster's nodes at a time (the daemon's repairs, resize calls)."""
    with exclusive(directory / "membership.lock"):
        yield


def seed(directory: Path, incoming: Path) -> None:
    """Take the client's cluster row, nodes and keys (at create, or a later reinstall)."""
    data = json.loads((incoming / "seed.json").read_text())
    journal = Journal(state_dir(directory))
    name = data["name"]
    row = journal.get_cluster(name)
    if row is None:
        journal.add_cluster(name, data["provider"], data["status"], data["spec"])
    elif row.spec != data["spec"]:  # the client changed them since (`ehpc cluster install`)
        journal.set_spec(name, data["spec"], "settings from the client")
    rows = [NodeRow(**n) for n in data["nodes"]]
    journal.remove_nodes(name, [n.name for n in journal.nodes(name)])
    journal.put_nodes(rows)
    if "runs" in data:  # what the nodes cost since they started, as the client recorded it
        journal.replace_runs(name, [Run(**run) for run in data["runs"]])
    target = journal.cluster_dir(name)
    shutil.copytree(incoming / "keys", target, dirs_exist_ok=True)
    context = open_head(directory)
    write_cluster_ssh(context, [_on_head(row) for row in rows])
    journal.event(name, "agent", f"seeded with {len(rows)} nodes")


def _on_head(row: NodeRow) -> NodeRow:
    """From the head every node is reached at its overlay address (a cluster across sites or
    clouds), else its private one (Fleet.from_head)."""
    row.private_address = row.overlay_address or row.private_address or row.address
    return row
