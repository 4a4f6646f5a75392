"""What the web API does to its cluster, on the head: the same job functions as `ehpc job`
(orchestration/jobs.py, the scheduler adapters), the agent's journal of nodes and events, and
what the machines cost (orchestration/cost.py, as `ehpc cluster cost`).

Each worker thread keeps its own journal connection (SQLite connections stay in their thread);
everything else is read afresh per call, so a resize by the agent's loop shows at once.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ...config import Settings
from ...errors import ConfigError, EhpcError
from ...orchestration import cost, jobs
from ...orchestration.context import ClusterContext
from ...schedulers import JobSpec
from ...state import Journal
from ..head import state_dir

NETWORK_FS = ("nfs", "nfs4", "fuse.glusterfs", "glusterfs")
FILE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")


class Cluster:
    def __init__(self, agent_dir: Path) -> None:
        self.agent_dir = agent_dir
        self._local = threading.local()
        secrets = json.loads((agent_dir / "credentials.json").read_text())
        self.settings = Settings({(s, k): v for s, k, v in secrets["secrets"]})
        (row,) = self.journal.clusters()
        self.name = row.name

    @property
    def journal(self) -> Journal:
        if not hasattr(self._local, "journal"):
            self._local.journal = Journal(state_dir(self.agent_dir))
        return self._local.journal  # type: ignore[no-any-return]

    def context(self) -> ClusterContext:
        row = self.journal.get_cluster(self.name)
        assert row is not None
        return ClusterContext(self.journal, row, self.settings)

    def summary(self) -> dict[str, Any]:
        context = self.context()
        return {"name": self.name, "scheduler": context.scheduler.name, "provider": context.row.provider}

    # Jobs
    def jobs(self, since: float, state: str | None = None, name: str | None = None) -> list[dict[str, Any]]:
        infos = jobs.list_jobs(self.name, self.journal, self.settings, since=since, every_path=True)
        submitted = {row.job_id: row.submitted_at for row in self.journal.jobs(self.name, since)}
        prices = cost.node_prices(self.context())  # the journal's prices only: no price API
        found = [{**asdict(i), "finished": i.finished, "submitted_at": submitted.get(i.job_id),
                  "cost": cost.job_cost(i, prices) if i.finished else None}
                 for i in infos]
        return [j for j in found if (state is None or j["state"] == state)
                and (name is None or j["name"] == name)]

    def job(self, job_id: str) -> list[dict[str, Any]]:
        return jobs.job_report(self.name, job_id, self.journal, self.settings)

    def submit(self, spec: JobSpec, files: dict[str, bytes]) -> str:
        """Input files go to a root-only temporary directory on the head, then are staged into
        the job's working directory exactly as `ehpc job submit --input-files` stages them."""
        for file_name in files:
            if not FILE_NAME_RE.match(file_name):
                raise ConfigError(f"input file name {file_name!r}: use letters, digits, '.', '_', '+', '-'")
        spec.validate()
        with tempfile.TemporaryDirectory(prefix="ehpc-web-") as tmp:
            paths = []
            for file_name, data in files.items():
                path = Path(tmp) / file_name
                path.write_bytes(data)
                paths.append(path)
            return jobs.submit_job(self.name, spec, input_files=paths, journal=self.journal,
                                   settings=self.settings)

    def cancel(self, job_id: str) -> None:
        jobs.cancel_job(self.name, job_id, self.journal, self.settings)

    def logs(self, job_id: str) -> list[tuple[str, str]]:
        return jobs.job_logs(self.name, job_id, self.journal, self.settings)

    # Nodes
    def nodes(self) -> list[dict[str, Any]]:
        context = self.context()
        scheduler = context.scheduler

        def ask(argv: list[str]) -> str:
            result = context.shell.run(context.head, argv, check=False)
            return result.stdout if result.returncode == 0 else ""

        listed = ask(scheduler.nodes_argv())
        states = scheduler.parse_nodes(listed)
        loads = scheduler.parse_loads(listed if scheduler.loads_argv() == scheduler.nodes_argv()
                                      else ask(scheduler.loads_argv()))
        return [{"name": n.name, "role": n.role, "status": n.status, "provider": n.provider,
                 "pool": n.pool, "region": n.region, "market": n.market,
                 "address": n.private_address or n.address,
                 "scheduler_state": states.get(n.name, ""), "load": loads.get(n.name)}
                for n in context.nodes]

    def drain(self, node: str, resume: bool) -> None:
        context = self.context()
        if node not in {n.name for n in context.nodes if n.role == "compute"}:
            raise EhpcError(f"cluster {self.name} has no compute node {node!r}")
        scheduler = context.scheduler
        argv = (scheduler.resume_argv([node]) if resume
                else scheduler.drain_argv([node], "drained from the dashboard"))
        context.shell.run(context.head, argv)
        self.journal.event(self.name, "node", f"{node} {'resumed' if resume else 'drained'} (dashboard)")

    # Cost
    def cost(self, dearest: int = 10) -> dict[str, Any]:
        """`ehpc cluster cost --json` from the head's own record: the report (priced first:
        the price APIs are asked only for what is missing or stale), the budget's events, and
        the `dearest` finished jobs by estimated cost (0: none, which spares the scheduler's
        accounting of every job)."""
        context = self.context()
        cost.price_runs(context)
        found = cost.jobs_cost(context)[:dearest] if dearest else []
        return {**cost.report(context).to_json(),
                "events": self.journal.messages(self.name, "budget"),
                "jobs": [{"job_id": i.job_id, "task": i.task, "name": i.name, "nodes": i.nodes,
                          "elapsed": i.elapsed, "cost": c} for i, c in found]}

    # Events, storage
    def events(self, since: float = 0.0) -> list[dict[str, Any]]:
        return [{"at": at, "kind": kind, "message": message}
                for at, kind, message in self.journal.events(self.name) if at >= since]

    def storage(self) -> dict[str, Any]:
        """The head's file systems a user cares for: the root, /home, the shared directory, data
        disks and network file systems (not the bind mounts that make up a local node)."""
        shared = self.context().spec.shared_dir
        listing = _run(["findmnt", "-J", "-l", "-b", "-o", "TARGET,SOURCE,FSTYPE,SIZE,USED,AVAIL"])
        found = [_mount(m) for m in json.loads(listing or '{"filesystems": []}').get("filesystems", [])]
        wanted = [m for m in found if m["target"] in ("/", "/home", shared)
                  or m["target"].startswith(shared + "/") or m["fstype"] in NETWORK_FS
                  or (m["source"].startswith("/dev/") and m["target"].startswith(("/mnt/", "/data")))]
        return {"mounts": wanted, "shared_dir": shared,
                "disks": [m for m in wanted if m["target"] != "/" and m["source"].startswith("/dev/")]}


def _run(argv: list[str]) -> str:
    return subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False).stdout


def _mount(found: dict[str, Any]) -> dict[str, Any]:
    source = (found.get("source") or "").split("[")[0]  # a bind mount: its device, not its path
    return {"target": found.get("target") or "", "source": source,
            "fstype": found.get("fstype") or "", "size": int(found.get("size") or 0),
            "used": int(found.get("used") or 0), "avail": int(found.get("avail") or 0)}


def since_hours(hours: float) -> float:
    return time.time() - hours * 3600
