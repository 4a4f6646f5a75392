"""One job suite for the three schedulers, on real local clusters (2 compute nodes each) driven
through the `ehpc` CLI: submit, array, status transitions, logs, cancel, exit codes, a command
with quotes, `$` and `;`, batches, and the guide's --owner values."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ..conftest import have_local_cluster_support
from ..local.helpers import ROOT, Ehpc, cluster_for_a_test, cmdline, node_pids

reason = have_local_cluster_support() or (
    None if shutil.which("sge_qmaster", path="/usr/sbin") and Path("/opt/ehpc-pbs/usr/bin/qsub").exists()
    else "Grid Engine or the Torque wrappers are missing: run scripts/install-system-packages.sh all"
)
if reason:
    pytest.skip(reason, allow_module_level=True)

TASK_VARIABLE = {"slurm": "SLURM_ARRAY_TASK_ID", "sge": "SGE_TASK_ID", "pbs": "PBS_ARRAYID"}


@dataclass
class Cluster:
    cli: Ehpc
    name: str
    scheduler: str

    def submit(self, *args: str, check: bool = True) -> Any:
        return self.cli.run("job", "submit", self.name, *args, check=check)

    def status(self, job_id: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.cli.json("job", "status", self.name, job_id)
        return result

    def wait_for(self, job_id: str, state: str, timeout: float = 30) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            tasks = self.status(job_id)
            if all(t["state"] == state for t in tasks):
                return tasks
            assert time.monotonic() < deadline, f"job {job_id} never {state}: {tasks}"
            time.sleep(0.3)


@pytest.fixture(scope="module", params=["slurm", "sge", "pbs"])
def cluster(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    scheduler = request.param
    base = tmp_path_factory.mktemp(f"jobs-{scheduler}")
    cli = Ehpc(base / "state", ROOT / base.name)
    name = f"jobs-{scheduler}"
    with cluster_for_a_test(cli, name, 2, "--scheduler", scheduler):
        yield Cluster(cli, name, scheduler)


def test_submit_wait_prints_output_and_logs_keep_both_streams(cluster: Cluster) -> None:
    out = cluster.submit("--wait", "--", "echo to-out; echo to-err >&2")
    assert out.stdout == "to-out\nto-err\n"  # --wait prints the job's stdout, then its stderr
    job_id = out.stderr.split("Submitted job ")[1].split()[0]
    logs = cluster.cli.json("job", "logs", cluster.name, job_id)
    assert sorted(log["text"] for log in logs) == ["to-err\n", "to-out\n"]
    (task,) = cluster.status(job_id)
    assert (task["state"], task["exit_code"], task["scheduler"]) == ("completed", 0, cluster.scheduler)
    assert task["finished"] and task["nodes"].startswith(f"{cluster.name}-node")


def test_status_goes_through_running_to_completed(cluster: Cluster) -> None:
    job_id = cluster.submit("--", "sleep 2").stdout.strip()
    seen: list[str] = []
    deadline = time.monotonic() + 40
    while not seen or seen[-1] != "completed":
        (task,) = cluster.status(job_id)
        if not seen or seen[-1] != task["state"]:
            seen.append(task["state"])
        assert time.monotonic() < deadline, seen
        time.sleep(0.3)
    assert seen[-2:] == ["running", "completed"]
    assert set(seen) <= {"pending", "running", "completed"}
    assert task["exit_code"] == 0 and task["owner"] and task["submitted_at"] > 0


def test_array_runs_every_task_on_the_compute_nodes(cluster: Cluster) -> None:
    variable = TASK_VARIABLE[cluster.scheduler]
    out = cluster.submit("--array", "1-6", "--wait", "--", f'echo "task ${variable} on $(hostname)"')
    lines = sorted(out.stdout.splitlines())
    assert [line.split()[1] for line in lines] == sorted(str(i) for i in range(1, 7))
    assert {line.split()[-1] for line in lines} == {f"{cluster.name}-node1", f"{cluster.name}-node2"}
    job_id = out.stderr.split("Submitted job ")[1].split()[0]
    tasks = cluster.status(job_id)
    assert sorted(int(t["task"]) for t in tasks) == list(range(1, 7))
    assert {t["state"] for t in tasks} == {"completed"}


def test_failing_job_keeps_its_exit_code(cluster: Cluster) -> None:
    out = cluster.submit("--wait", "--", "echo before; exit 7", check=False)
    assert out.returncode == 7 and out.stdout == "before\n"
    assert "failed with exit code 7" in out.stderr
    job_id = out.stderr.split("Submitted job ")[1].split()[0]
    (task,) = cluster.status(job_id)
    assert (task["state"], task["exit_code"]) == ("failed", 7)


def test_command_with_quotes_dollars_and_semicolons_runs_exactly_as_given(cluster: Cluster) -> None:
    line = """printf '%s|' "it's" '$HOME' 'a;b' "x\\"y" "$V"; echo "$((6*7))";echo 'done;'"""
    argv = ["printf", "<%s>", "a b", "$X", "c;d", "'q'", '"w"']
    shell_job = cluster.submit("--env", "V=$1; echo no", "--command", line).stdout.strip()
    out = cluster.submit("--wait", "--", *argv).stdout
    assert out == "<a b><$X><c;d><'q'><\"w\">"
    out = cluster.cli.run("job", "wait", cluster.name, shell_job).stdout
    assert out == "it's|$HOME|a;b|x\"y|$1; echo no|42\ndone;\n"


def test_cancel_stops_running_and_pending_work(cluster: Cluster) -> None:
    marker = "317"  # an unusual duration marks this test's processes
    job_id = cluster.submit("--array", "1-8", "--", f"sleep {marker}").stdout.strip()
    tasks = cluster.status(job_id)
    deadline = time.monotonic() + 30
    while not any(t["state"] == "running" for t in tasks):
        assert time.monotonic() < deadline, tasks
        time.sleep(0.3)
        tasks = cluster.status(job_id)
    cluster.cli.run("job", "cancel", cluster.name, job_id)
    tasks = cluster.wait_for(job_id, "cancelled")
    assert tasks and all(t["finished"] for t in tasks)
    deadline = time.monotonic() + 15
    while any(cmdline(pid) == ["sleep", marker] for pid in node_pids(cluster.name)):
        assert time.monotonic() < deadline, "cancelled job's processes still run"
        time.sleep(0.3)
    assert cluster.cli.json("job", "list", cluster.name) == []


def test_many_jobs_are_one_array_job_whose_task_i_runs_line_i(cluster: Cluster,
                                                              tmp_path: Path) -> None:
    copies = json.loads(cluster.submit("--json", "--count", "5", "--", "echo copy").stdout)
    assert [t["task_id"] for t in copies["tasks"]] == [f"{copies['job_id']}_{i}" for i in range(1, 6)]
    jobs = tmp_path / "jobs.txt"
    jobs.write_text("# one job per line\necho 'first;'\n\necho \"$((1+1))\"; exit 3\nhostname\n")
    batch = json.loads(cluster.submit("--json", "--jobs-file", str(jobs)).stdout)
    job_id = batch["job_id"]
    assert batch["tasks"] == [
        {"task_id": f"{job_id}_1", "command": "echo 'first;'"},
        {"task_id": f"{job_id}_2", "command": 'echo "$((1+1))"; exit 3'},
        {"task_id": f"{job_id}_3", "command": "hostname"},
    ]
    deadline = time.monotonic() + 60
    while cluster.cli.json("job", "list", cluster.name):
        assert time.monotonic() < deadline
        time.sleep(0.5)
    tasks = {t["task"]: t for t in cluster.status(job_id)}
    assert {k: (t["state"], t["exit_code"]) for k, t in tasks.items()} == {
        "1": ("completed", 0), "2": ("failed", 3), "3": ("completed", 0)}
    texts = [cluster.cli.json("job", "logs", cluster.name, t["task_id"])[0]["text"]
             for t in batch["tasks"]]
    assert texts[:2] == ["first;\n", "2\n"] and texts[2].startswith(f"{cluster.name}-node")
    assert {t["state"] for t in cluster.status(copies["job_id"])} == {"completed"}


def test_status_of_many_jobs_in_one_call(cluster: Cluster) -> None:
    done = cluster.submit("--wait", "--", "true").stderr.split("Submitted job ")[1].split()[0]
    running = cluster.submit("--", "sleep 30").stdout.strip()
    out = cluster.cli.run("job", "status", cluster.name, done, running, "999999", "--json",
                          check=False)
    assert out.returncode == 1 and out.stderr == f"ehpc: error: cluster {cluster.name} has no job 999999\n"
    states = {t["job_id"]: t["state"] for t in json.loads(out.stdout)}
    assert states[done] == "completed" and states[running] in ("pending", "running")
    cluster.cli.run("job", "cancel", cluster.name, running)


def test_owners_run_directly_on_the_head_or_as_jobs(cluster: Cluster) -> None:
    head = f"{cluster.name}-head"
    system = cluster.submit("--owner", "system", "--", "echo $(id -un) on $(hostname)").stdout
    assert system == f"root on {head}\n"
    direct = {"slurm": None, "sge": "ehpcuser", "pbs": "ubuntu"}[cluster.scheduler]
    if direct:
        out = cluster.submit("--owner", direct, "--", "echo $(id -un) on $(hostname)").stdout
        assert out == f"{direct} on {head}\n"
    job = {"slurm": "anyone", "sge": "sge", "pbs": "anyone"}[cluster.scheduler]
    out = cluster.submit("--owner", job, "--wait", "--", "hostname").stdout
    assert out.strip() in {f"{cluster.name}-node1", f"{cluster.name}-node2"}


def test_a_refused_submission_ends_in_one_clear_line(cluster: Cluster) -> None:
    if cluster.scheduler == "sge":
        pytest.skip("Grid Engine queues any memory request: --mem is mem_free, a placement hint")
    out = cluster.submit("--mem", "900G", "--", "true", check=False)
    assert out.returncode == 1
    assert out.stderr == (f"ehpc: error: {cluster.scheduler} did not accept the job: sbatch: error: "
                          "Batch job submission failed: Requested node configuration is not available\n")


def test_each_job_works_in_a_directory_of_its_own(cluster: Cluster, tmp_path: Path) -> None:
    """Two jobs staging inputs of the same name each read their own (held until staged), a
    staged script runs in the job's directory, and the directory is named by the job's id."""
    script = tmp_path / "count.sh"
    script.write_text('#!/bin/bash\necho "$PWD $EHPC_JOB_DIR"; grep -c . "$1"; cp "$1" copy.fa\n')
    script.chmod(0o755)
    seen = {}
    for letter in "ab":
        (tmp_path / letter).mkdir()
        reads = tmp_path / letter / "reads.fa"
        reads.write_text(f">{letter}\n{letter * 8}\n" * (2 if letter == "a" else 3))
        out = cluster.submit("--wait", "--input-files", str(reads), "--", str(script), "reads.fa")
        job_id = out.stderr.split("Submitted job ")[1].split()[0]
        workdir = f"/shared/jobs/{job_id}"
        assert f"ehpc: job {job_id} works in {workdir} " in out.stderr
        assert out.stdout == f"{workdir} {workdir}\n{4 if letter == 'a' else 6}\n"
        seen[workdir] = reads.read_text()
    for workdir, text in seen.items():
        copy = cluster.cli.run("ssh", cluster.name, "--", "cat", f"{workdir}/copy.fa").stdout
        assert copy == text
    plain = json.loads(cluster.submit("--json", "--", "pwd").stdout)
    assert plain["workdir"] == f"/shared/jobs/{plain['job_id']}"


def test_logs_kept_on_the_node_that_ran_the_job_are_brought_back(cluster: Cluster) -> None:
    """Output written where only the compute node sees it (as on a cluster without a shared
    directory): `job logs` and `--wait` read it from that node instead of returning nothing."""
    path = f"/tmp/ehpc-node-only-{cluster.scheduler}"
    out = cluster.submit("--wait", "--stdout", f"{path}.out", "--stderr", f"{path}.err",
                         "--", "echo from-the-node")
    assert out.stdout == "from-the-node\n"
    job_id = out.stderr.split("Submitted job ")[1].split()[0]
    head_copy = cluster.cli.run("ssh", cluster.name, "--", "ls", f"{path}.out", check=False)
    assert head_copy.returncode != 0  # the head has no copy: it came from the node
    logs = cluster.cli.json("job", "logs", cluster.name, job_id)
    assert [log["text"] for log in logs if log["path"].endswith(".out")] == ["from-the-node\n"]


def test_a_job_linking_its_output_to_a_root_only_file_reads_nothing_of_it(cluster: Cluster) -> None:
    """A job replaces its own output files with links to /etc/shadow: `--wait` and `job logs`
    read them with the job owner's rights, so they are refused and show none of it."""
    plant = ('for fd in 1 2; do f=$(readlink /proc/$$/fd/$fd); rm -f -- "$f"; '
             'ln -s /etc/shadow "$f"; done')
    out = cluster.submit("--wait", "--", plant, check=False)
    job_id = out.stderr.split("Submitted job ")[1].split()[0]
    logs = cluster.cli.run("job", "logs", cluster.name, job_id, check=False)
    for result in (out, logs):
        assert "root:" not in result.stdout + result.stderr
    assert logs.returncode != 0 and "Permission denied" in logs.stderr
    assert logs.stderr.count("\n") == 1, logs.stderr
