"""Issue 20, item 5: a local Slurm cluster made with --local-node-cpus 1 --local-node-memory 700
has nodes of that size: Slurm counts 1 CPU and 700 MB, and the node's processes (sshd's
sessions, jobs) run in a cgroup with that CPU quota and memory limit, which a job that takes
more memory than that does not survive. Grid Engine gets NODE_CPUS as the node's slots, and a
job wider than a node is refused. Sizes the host cannot give are refused in one line, before
anything is made."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from elastichpc.state import Journal

from .helpers import ROOT, Ehpc, leftovers

NAME = "sz-one"
NODE = f"{NAME}-node1"


def v1_mount(controller: str) -> Path | None:
    """Where this host mounts the cgroup v1 hierarchy of `controller`, if it does."""
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        kind = fields[fields.index("-") + 1:]
        if kind[0] == "cgroup" and controller in kind[2].split(","):
            return Path(fields[4])
    return None


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ehpc]:
    state = tmp_path_factory.mktemp("state")
    ehpc = Ehpc(state, ROOT / f"sz-{state.parent.name}")
    try:
        ehpc.create(NAME, 1, "--local-node-cpus", "1", "--local-node-memory", "700")
        yield ehpc
    finally:
        ehpc.run("cluster", "terminate", NAME, check=False)
        assert leftovers(NAME, ehpc.local_root, state, []) == []
        shutil.rmtree(ehpc.local_root, ignore_errors=True)


def as_user(ehpc: Ehpc, command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return ehpc.run("ssh", NAME, "--user", "ehpcuser", "--", "bash", "-lc", command,
                    timeout=120, check=check)


def test_slurm_counts_the_node_size(cluster: Ehpc) -> None:
    shown = cluster.run("ssh", NAME, "--", "scontrol", "show", "node", NODE).stdout.split()
    assert "CPUTot=1" in shown and "RealMemory=700" in shown, shown


def job_cgroup(cluster: Ehpc, controller: str) -> str:
    """The cgroup (in `controller`'s hierarchy) a job on the compute node runs in."""
    lines = as_user(cluster, f"srun -N1 -w {NODE} cat /proc/self/cgroup").stdout.splitlines()
    return next(line.split(":", 2)[2] for line in lines if controller in line.split(":")[1].split(","))


@pytest.mark.skipif(v1_mount("memory") is None, reason="no cgroup v1 memory controller here")
def test_jobs_run_under_the_node_limits(cluster: Ehpc) -> None:
    memory, cpu = v1_mount("memory"), v1_mount("cpu")
    assert memory is not None and cpu is not None
    inside = job_cgroup(cluster, "memory")
    assert inside.endswith(f"/ehpc.{NAME}.{NODE}"), inside
    assert (memory / inside.lstrip("/") / "memory.limit_in_bytes").read_text().strip() == str(700 << 20)
    inside = job_cgroup(cluster, "cpu")
    assert inside.endswith(f"/ehpc.{NAME}.{NODE}"), inside
    assert (cpu / inside.lstrip("/") / "cpu.cfs_quota_us").read_text().strip() == "100000"
    assert (cpu / inside.lstrip("/") / "cpu.cfs_period_us").read_text().strip() == "100000"
    # an SSH session on the node is in it as well
    session = cluster.run("ssh", NAME, NODE, "--", "cat", "/proc/self/cgroup").stdout
    assert f"/ehpc.{NAME}.{NODE}\n" in session


@pytest.mark.skipif(v1_mount("memory") is None, reason="no cgroup v1 memory controller here")
def test_a_job_over_the_memory_limit_is_killed(cluster: Ehpc) -> None:
    small = as_user(cluster, f"srun -N1 -w {NODE} python3 -c 'b = b\"x\" * (300 << 20); print(len(b))'")
    assert small.stdout.split()[-1] == str(300 << 20)
    big = as_user(cluster, f"srun -N1 -w {NODE} python3 -c 'b = b\"x\" * (900 << 20); print(len(b))'",
                  check=False)
    assert big.returncode != 0 and str(900 << 20) not in big.stdout, big.stdout + big.stderr
    assert "idle" in as_user(cluster, f"sinfo -h -n {NODE} -o %t").stdout  # the node lives on


def test_a_job_wider_than_the_node_is_refused(cluster: Ehpc) -> None:
    wide = cluster.run("job", "submit", NAME, "--cpus", "2", "--command", "true", check=False)
    assert wide.returncode != 0
    assert f"--cpus 2: the largest node of {NAME} has 1 CPUs" in wide.stderr, wide.stderr


def test_grid_engine_gives_the_node_its_cpus_as_slots(tmp_path: Path) -> None:
    ehpc = Ehpc(tmp_path / "state", ROOT / f"sz-{tmp_path.name}")
    name = "sz-sge"
    try:
        ehpc.create(name, 1, "--scheduler", "sge", "--local-node-cpus", "1")
        queue = ehpc.run("ssh", name, "--", "qstat", "-f").stdout
        assert f"@{name}-node1" in queue and " 0/0/1 " in queue, queue
        wide = ehpc.run("job", "submit", name, "--cpus", "2", "--command", "true", check=False)
        assert f"--cpus 2: the largest node of {name} has 1 CPUs" in wide.stderr, wide.stderr
    finally:
        ehpc.run("cluster", "terminate", name, check=False)
        shutil.rmtree(ehpc.local_root, ignore_errors=True)
    assert leftovers(name, ehpc.local_root, tmp_path / "state", []) == []


def test_the_cgroups_go_with_the_cluster(tmp_path: Path) -> None:
    """A cluster of its own (terminate of the shared one is the fixture's): after terminate its
    node cgroups are gone too."""
    memory = v1_mount("memory")
    if memory is None:
        pytest.skip("no cgroup v1 memory controller here")
    ehpc = Ehpc(tmp_path / "state", ROOT / f"sz-{tmp_path.name}")
    name = "sz-gone"
    try:
        ehpc.create(name, 1, "--local-node-memory", "800", "--provision-only")
        made = [p for p in memory.rglob(f"ehpc.{name}.*") if p.is_dir()]
        assert len(made) == 2, made  # the head's and the compute node's
    finally:
        ehpc.run("cluster", "terminate", name, check=False)
        shutil.rmtree(ehpc.local_root, ignore_errors=True)
    assert leftovers(name, ehpc.local_root, tmp_path / "state", []) == []
    assert [p for p in made if p.exists()] == []


@pytest.mark.parametrize("flags, message", [
    (["--local-node-cpus", "0"], "[LOCAL] NODE_CPUS: expected a whole number above 0, got '0'"),
    (["--local-node-memory=-5"], "[LOCAL] NODE_MEMORY: expected a whole number above 0, got '-5'"),
    (["--local-node-cpus", str(len(os.sched_getaffinity(0)) + 1)],
     f"[LOCAL] NODE_CPUS {len(os.sched_getaffinity(0)) + 1}: this machine has "
     f"{len(os.sched_getaffinity(0))} CPUs"),
    (["--local-node-memory", "99999999"], "[LOCAL] NODE_MEMORY 99999999: this machine has "),
])
def test_sizes_the_host_cannot_give_are_refused(tmp_path: Path, flags: list[str], message: str) -> None:
    ehpc = Ehpc(tmp_path / "state", ROOT / f"sz-{tmp_path.name}")
    result = ehpc.create("sz-bad", 1, *flags, check=False)
    assert result.returncode != 0
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("ehpc: error: "), result.stderr
    assert message in result.stderr, result.stderr
    journal = Journal(tmp_path / "state")
    assert journal.get_cluster("sz-bad") is None
    journal.close()
    assert "ehpc.sz-bad." not in subprocess.run(["ip", "netns", "list"], capture_output=True,
                                                text=True).stdout
    assert not ehpc.local_root.exists()
