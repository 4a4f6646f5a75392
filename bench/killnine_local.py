"""kill -9 of the CLI at a random point of create, terminate, disk attach, disk create --attach
and resize (local provider), then the rerun a user would do, counting what was leaked or made
twice.

Per operation, one full run measures its duration; each trial (bench/killnine.py) SIGKILLs the
CLI after a random delay within it, reruns the same command and checks the result: a create,
exactly the planned nodes, each once in the journal and in Slurm (sinfo), and one job on
all of them (srun -N); a terminate, exit 0; `disk attach` and `disk create --attach`, the disk mounted
once, in one node, and one disk of that name; `cluster resize --add 1`, the same for three
compute nodes; `cluster resize --remove node2`, for node1 alone. Then it terminates the cluster
and counts leftovers on the host: network namespaces, tagged links, mounts, processes, loop
devices, directories.
Writes bench/results/killnine_local.json.
Usage (as root): python bench/killnine_local.py [TRIALS_PER_OPERATION]
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from killnine import Cli, Operation, finished, run_trials
from results_file import write_results

SIZE = 2
MOUNT = "/ehpc-killnine-data"  # local nodes share the host's root: a host directory, removed at the end


def _lines(argv: list[str]) -> list[str]:
    return subprocess.run(argv, capture_output=True, text=True).stdout.splitlines()


def _netns(name: str) -> list[str]:
    return [n for n in _lines(["ip", "netns", "list"]) if n.startswith(f"ehpc.{name}.")]


def leftovers(name: str, root: Path) -> dict[str, int]:
    """What of cluster `name` is still on this host, by kind."""
    netns = _netns(name)
    links = json.loads(subprocess.run(["ip", "-j", "link"], capture_output=True, text=True).stdout)
    with open("/proc/self/mountinfo") as info:
        mounts = [line for line in info if f"/{name}/" in line.split()[4]]
    loops = [line for line in _lines(["losetup", "-n", "-O", "BACK-FILE"]) if str(root) in line]
    pids = [p for n in netns for p in _lines(["ip", "netns", "pids", n.split()[0]])]
    return {"netns": len(netns), "links": sum(lk.get("ifalias") == f"ehpc-cluster={name}" for lk in links),
            "mounts": len(mounts), "loop_devices": len(loops), "processes": len(pids),
            "directories": int((root / name).exists())}


class Local:
    """The operations on the local provider, in one state directory and local root."""

    def __init__(self, cli: Cli, root: Path) -> None:
        self.cli, self.root = cli, root

    def create_argv(self, name: str) -> list[str]:
        return ["cluster", "create", "--name", name, "--size", str(SIZE),
                "--local-root-dir", str(self.root)]

    def create(self, name: str) -> None:
        out = self.cli.run(*self.create_argv(name))
        if out.returncode != 0:
            raise SystemExit(f"create {name} failed: {out.stderr.strip()}")

    def with_disk(self, name: str) -> None:
        self.create(name)
        self.cli.run("disk", "create", f"{name}-d", "--size", "1G", "--cluster", name)

    def teardown(self, name: str) -> dict[str, int]:
        self.cli.run("cluster", "terminate", name, "--local-root-dir", str(self.root))
        time.sleep(0.5)  # the kernel lets go of a destroyed namespace's links lazily
        return leftovers(name, self.root)

    def computes(self, name: str) -> list[str]:
        nodes = json.loads(self.cli.run("nodes", "list", name, "--json").stdout or "[]")
        return [n["name"] for n in nodes if n["role"] == "compute"]

    def nodes_right(self, name: str, expected: list[str]) -> tuple[bool, int]:
        """The cluster's compute nodes are `expected` (short names), each once in the journal,
        in Slurm and as a namespace, and a job runs on all at once; extra ones are duplicates."""
        journal = self.computes(name)
        slurm = self.cli.run("ssh", name, "--", "sinfo -h -N -o %N").stdout.split()
        want = [f"{name}-{n}" for n in expected]
        ok = (sorted(journal) == sorted(want) and sorted(slurm) == sorted(want)
              and self.works(name, len(want)))
        extra = max(len(journal) - len(want), 0) + max(len(_netns(name)) - (len(want) + 1), 0)
        return ok, extra

    def works(self, name: str, count: int) -> bool:
        out = self.cli.run("ssh", name, "--", f"timeout 60 srun -N{count} hostname")
        return out.returncode == 0 and len(set(out.stdout.split())) == count

    def created(self, name: str, rerun: subprocess.CompletedProcess[str]) -> tuple[bool, int]:
        ok, extra = self.nodes_right(name, [f"node{i}" for i in range(1, SIZE + 1)])
        return rerun.returncode == 0 and ok, extra

    def attach_argv(self, name: str) -> list[str]:
        return ["disk", "attach", f"{name}-d", name, "--node", "node1", "--mount-point", MOUNT]

    def create_attach_argv(self, name: str) -> list[str]:
        return ["disk", "create", f"{name}-d", "--size", "1G", "--cluster", name, "--attach",
                "--node", "node1", "--mount-point", MOUNT]

    def attached(self, name: str, rerun: subprocess.CompletedProcess[str]) -> tuple[bool, int]:
        mounted = self.cli.run("ssh", name, "node1", "--", f"findmnt -n -o SOURCE {MOUNT} | wc -l")
        count = int(mounted.stdout.strip() or 0)
        disks = json.loads(self.cli.run("disk", "list", "--json", "--cluster", name).stdout or "[]")
        named = [d for d in disks if d["name"] == f"{name}-d"]
        return rerun.returncode == 0 and count == 1, max(count - 1, 0) + max(len(named) - 1, 0)

    def grown(self, name: str, rerun: subprocess.CompletedProcess[str]) -> tuple[bool, int]:
        ok, extra = self.nodes_right(name, [f"node{i}" for i in range(1, SIZE + 2)])
        return rerun.returncode == 0 and ok, extra

    def shrunk(self, name: str, rerun: subprocess.CompletedProcess[str]) -> tuple[bool, int]:
        ok, extra = self.nodes_right(name, ["node1"])
        return rerun.returncode == 0 and ok, extra

    def operations(self) -> list[Operation]:
        return [
            Operation("create", self.create_argv, self.created),
            Operation("terminate", lambda n: ["cluster", "terminate", n], finished, self.create),
            Operation("disk attach", self.attach_argv, self.attached, self.with_disk),
            Operation("disk create --attach", self.create_attach_argv, self.attached, self.create),
            Operation("resize --add 1", lambda n: ["cluster", "resize", n, "--add", "1"],
                      self.grown, self.create),
            Operation("resize --remove node2", lambda n: ["cluster", "resize", n, "--remove", "node2"],
                      self.shrunk, self.create),
        ]


def main(trials: int) -> None:
    with tempfile.TemporaryDirectory(prefix="killnine-") as state:
        root = Path(f"/srv/ehpc-test/killnine-bench-{os.getpid()}")
        local = Local(Cli({**os.environ, "EHPC_STATE_DIR": state}), root)
        summary, records = run_trials(local.cli, local.operations(), trials, "killnine-", local.teardown)
        shutil.rmtree(root, ignore_errors=True)
        with contextlib.suppress(OSError):
            os.rmdir(MOUNT)
    path = write_results("killnine_local", {
        "benchmark": "kill -9 of the CLI at a random point, then rerun and terminate (local)",
        "cluster": f"1 head + {SIZE} compute nodes, Slurm",
        "summary": summary, "trials": records,
    })
    print(json.dumps(summary, indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if sys.argv[1:] else 4)
