"""kill -9 of the CLI at a random point of create, terminate and disk attach (local provider),
then the rerun a user would do, counting what was leaked or made twice.

For each operation and trial: start the real CLI, SIGKILL it after a random delay within the
operation's measured duration, rerun the same command, check the result (a create: exactly
the planned nodes, each once, and a job on all of them; a terminate: nothing of the cluster
left; an attach: the disk mounted once, in one node), then terminate and count leftovers on the
host: network namespaces, tagged links, mounts, processes, loop devices, directories.
Writes bench/results/killnine_local.json. (Resize has no command yet: not measured.)
Usage (as root): python bench/killnine_local.py [TRIALS_PER_OPERATION]
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results_file import write_results

EHPC = [sys.executable, "-m", "elastichpc"]
SIZE = 2


class Host:
    """One state directory and local root; the CLI as a user runs it."""

    def __init__(self, state: str, root: Path) -> None:
        self.env = {**os.environ, "EHPC_STATE_DIR": state}
        self.root = root

    def argv(self, *args: str) -> list[str]:
        return [*EHPC, *args]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.argv(*args), env=self.env, capture_output=True, text=True,
                              timeout=600)

    def killed(self, delay: float, *args: str) -> bool:
        """Run, SIGKILL after `delay` s; True when it was killed before finishing."""
        proc = subprocess.Popen(self.argv(*args), env=self.env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            proc.wait(timeout=delay)
            return False
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return True

    def create(self, name: str) -> list[str]:
        return ["cluster", "create", "--name", name, "--size", str(SIZE),
                "--local-root-dir", str(self.root)]

    def attach(self, disk: str, name: str) -> list[str]:
        return ["disk", "attach", disk, name, "--node", "node1", "--mount-point", "/data"]


def _lines(argv: list[str]) -> list[str]:
    return subprocess.run(argv, capture_output=True, text=True).stdout.splitlines()


def leftovers(name: str, root: Path) -> dict[str, int]:
    """What of cluster `name` is still on this host, by kind."""
    netns = [n for n in _lines(["ip", "netns", "list"]) if n.startswith(f"ehpc.{name}.")]
    links = json.loads(subprocess.run(["ip", "-j", "link"], capture_output=True, text=True).stdout)
    with open("/proc/self/mountinfo") as info:
        mounts = [line for line in info if f"/{name}/" in line.split()[4]]
    loops = [line for line in _lines(["losetup", "-n", "-O", "BACK-FILE"]) if str(root) in line]
    pids = [p for n in netns for p in _lines(["ip", "netns", "pids", n.split()[0]])]
    return {"netns": len(netns), "links": sum(lk.get("ifalias") == f"ehpc-cluster={name}" for lk in links),
            "mounts": len(mounts), "loop_devices": len(loops), "processes": len(pids),
            "directories": int((root / name).exists())}


def duplicates(host: Host, name: str) -> int:
    """Nodes beyond the plan, or planned nodes found more than once."""
    out = host.run("nodes", "list", name, "--json")
    nodes = [n["name"] for n in json.loads(out.stdout or "[]")]
    netns = [n for n in _lines(["ip", "netns", "list"]) if n.startswith(f"ehpc.{name}.")]
    return max(len(nodes) - (SIZE + 1), 0) + max(len(netns) - (SIZE + 1), 0)


def works(host: Host, name: str) -> bool:
    out = host.run("job", "submit", name, "--array", f"1-{SIZE}", "--wait", "--", "echo ok")
    return out.returncode == 0 and out.stdout == "ok\n" * SIZE


def measure(seconds: list[float], host: Host, *args: str) -> None:
    start = time.perf_counter()
    out = host.run(*args)
    if out.returncode != 0:
        raise SystemExit(f"ehpc {' '.join(args)} failed: {out.stderr}")
    seconds.append(time.perf_counter() - start)


def trial(host: Host, operation: str, index: int, durations: dict[str, list[float]]) -> dict:
    name = f"hl-k9-{operation[:4]}{index}"
    rng_delay = random.uniform(0.05, 0.8 * max(durations[operation]))  # mostly mid-way
    record: dict = {"operation": operation, "delay_s": round(rng_delay, 2)}
    if operation == "create":
        record["killed"] = host.killed(rng_delay, *host.create(name))
        rerun = host.run(*host.create(name))
        record["rerun_ok"] = rerun.returncode == 0 and works(host, name)
        record["duplicates"] = duplicates(host, name)
    elif operation == "terminate":
        host.run(*host.create(name))
        record["killed"] = host.killed(rng_delay, "cluster", "terminate", name)
        rerun = host.run("cluster", "terminate", name, "--local-root-dir", str(host.root))
        record["rerun_ok"] = rerun.returncode == 0
        record["duplicates"] = 0
    else:  # disk attach
        host.run(*host.create(name))
        host.run("disk", "create", f"{name}-d", "--size", "1G", "--cluster", name)
        record["killed"] = host.killed(rng_delay, *host.attach(f"{name}-d", name))
        rerun = host.run(*host.attach(f"{name}-d", name))
        mounted = host.run("ssh", name, "node1", "--", "findmnt -n -o SOURCE /data | wc -l").stdout
        record["rerun_ok"] = rerun.returncode == 0 and mounted.strip() == "1"
        record["duplicates"] = max(int(mounted.strip() or 0) - 1, 0) + max(
            len([d for d in json.loads(host.run("disk", "list", "--json", "--cluster", name).stdout or "[]")
                 if d["name"] == f"{name}-d"]) - 1, 0)
    record["rerun_error"] = rerun.stderr.strip().splitlines()[-1:] if rerun.returncode else []
    host.run("cluster", "terminate", name, "--local-root-dir", str(host.root))
    time.sleep(0.5)  # the kernel lets go of a destroyed namespace's links lazily
    record["leaked"] = leftovers(name, host.root)
    print(json.dumps(record), flush=True)
    return record


def main(trials: int) -> None:
    random.seed(os.getpid())
    with tempfile.TemporaryDirectory() as state:
        host = Host(state, Path(f"/srv/ehpc-test/hl-bench-{os.getpid()}"))
        durations: dict[str, list[float]] = {"create": [], "terminate": [], "disk attach": []}
        measure(durations["create"], host, *host.create("hl-k9-ref"))  # full-length references
        host.run("disk", "create", "hl-k9-ref-d", "--size", "1G", "--cluster", "hl-k9-ref")
        measure(durations["disk attach"], host, *host.attach("hl-k9-ref-d", "hl-k9-ref"))
        measure(durations["terminate"], host, "cluster", "terminate", "hl-k9-ref")
        records = [trial(host, op, i, durations) for op in durations for i in range(trials)]
        shutil.rmtree(host.root, ignore_errors=True)
    summary = {}
    for op in durations:
        mine = [r for r in records if r["operation"] == op]
        killed = [r for r in mine if r["killed"]]  # the others had finished: nothing to resume
        summary[op] = {
            "trials": len(mine), "killed_mid_way": len(killed),
            "rerun_finished_after_kill": sum(r["rerun_ok"] for r in killed),
            "duplicated_resources": sum(r["duplicates"] for r in mine),
            "leaked_resources": sum(sum(r["leaked"].values()) for r in mine),
            "full_run_s": round(durations[op][0], 2),
        }
    path = write_results("killnine_local", {
        "benchmark": "kill -9 of the CLI at a random point, then rerun and terminate (local)",
        "cluster": f"1 head + {SIZE} compute nodes, Slurm",
        "summary": summary, "trials": records,
    })
    print(json.dumps(summary, indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if sys.argv[1:] else 5)
