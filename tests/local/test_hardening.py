"""Issue 14 (items 4-7) on one real local Slurm cluster made from the guide's [CLUSTER] block as
printed (with its bare title line): the guide's commands work as written, inputs are refused
before anything runs, answers are right."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ..storage.helpers import StorageCli, remove_empty_dirs
from .helpers import ROOT, interruptible
from .test_guide_commands import Guide

NAME = "hi-hard"
DATA = "/hi-hard-data"


class Cli(StorageCli):
    guide: Callable[..., subprocess.CompletedProcess[str]]  # the guide's tools, in the conf's directory


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    workdir = tmp_path_factory.mktemp("hi-hard")
    tool = Cli(workdir / "state", ROOT / f"hi-{workdir.name}")
    tool.guide = Guide(workdir, workdir / "state").run
    (workdir / "cluster.conf").write_text(
        f"[CLUSTER]\nCLUSTER CONFIGURATION\nCLUSTER_PREFIX = {NAME}\nCLUSTER SIZE = 2\n\n"
        f"[LOCAL]\nROOT_DIR = {tool.local_root}\n"
    )
    try:
        created = tool.guide("ehpcutils", "--provider=local", "--create")
        assert "read the title line 2 " in created.stderr
        yield tool
    finally:
        tool.run("cluster", "terminate", NAME, check=False)
        tool.disk("delete", "hi-hard-d", "--force", check=False)
        shutil.rmtree(tool.local_root, ignore_errors=True)
        remove_empty_dirs(DATA)


def one_error_line(proc: subprocess.CompletedProcess[str], text: str) -> None:
    assert proc.returncode != 0
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("ehpc: error: "), proc.stderr
    assert text in proc.stderr, proc.stderr


def test_owner_ubuntu_runs_on_the_head_on_slurm_too(cli: Cli) -> None:
    out = cli.guide("ehpcutils", "--provider=local", "--submit",
                    "--command=sleep 1;ls -la /home/ubuntu; id -un", "--owner=ubuntu")
    assert out.stdout.splitlines()[-1] == "ubuntu"


def test_guide_seqret_line_reads_its_input_file_as_written(cli: Cli, tmp_path: Path) -> None:
    local = tmp_path / "file1"
    local.write_text(">seq1\nACGT\n")
    out = cli.guide("ehpc-client", "--job-submit", f"--cluster={NAME}", "--id=3", "--owner=john",
                    f"--commmand=wc -l {local} && cat {local}", f"--input-files={local}",
                    "--monitor")
    assert out.stdout == "2 ./file1\n>seq1\nACGT\n"  # the job works in its own directory
    assert f"{local} is staged into the job's working directory" in out.stderr
    assert "--id=3 names the job job-3" in out.stderr


def test_unknown_wrapper_flag_runs_nothing(cli: Cli) -> None:
    out = cli.guide("ehpcutils", "--provider=local", "--submit", "--command=touch /tmp/hi-ownr",
                    "--ownr=system", check=False)
    one_error_line(out, "unknown option --ownr (did you mean --owner?)")
    assert "(ehpc " not in out.stderr and not Path("/tmp/hi-ownr").exists()
    out = cli.guide("ehpcutils", "--provider=local", "--terminate", "--clster=x", check=False)
    one_error_line(out, "unknown option --clster (did you mean --cluster?)")
    assert cli.json("nodes", "list", NAME)  # still there


@pytest.mark.parametrize(("args", "text"), [
    (("--cpus", "9999", "--", "true"), "--cpus 9999: the largest node of hi-hard has"),
    (("--array", "5-1", "--", "true"), "runs backwards (did you mean 1-5?)"),
    (("--workdir", "../x", "--", "true"), "--workdir '../x' must be an absolute path"),
    (("--owner", "", "--", "true"), "--owner '' is not a user name"),
    (("--", "./hi-no-such-script.sh"), "script ./hi-no-such-script.sh does not exist here"),
])
def test_bad_job_inputs_submit_nothing(cli: Cli, args: tuple[str, ...], text: str) -> None:
    one_error_line(cli.run("job", "submit", NAME, *args, check=False), text)
    assert cli.json("job", "list", NAME) == []


def test_cancel_of_a_finished_job_says_so(cli: Cli) -> None:
    job = cli.run("job", "submit", NAME, "--wait", "--", "true").stderr.split()[2]
    one_error_line(cli.run("job", "cancel", NAME, job, check=False),
                   f"job {job} has already finished (completed): nothing to cancel")


def test_logs_of_one_array_task(cli: Cli) -> None:
    out = cli.run("job", "submit", NAME, "--array", "1-3", "--wait", "--",
                  "echo task $SLURM_ARRAY_TASK_ID")
    job = out.stderr.split()[2]
    one = cli.run("job", "logs", NAME, f"{job}_2").stdout.splitlines()
    assert [line for line in one if not line.startswith("==>")] == ["task 2"]
    every = cli.run("job", "logs", NAME, job).stdout.splitlines()
    assert [line for line in every if not line.startswith("==>")] == ["task 1", "task 2", "task 3"]


def test_ctrl_c_while_waiting_names_the_job(cli: Cli) -> None:
    proc = interruptible("job", "submit", NAME, "--wait", "--", "sleep 20", env=cli.env,
                         stderr=subprocess.PIPE)
    assert proc.stderr is not None
    first = proc.stderr.readline()
    assert first.startswith("Submitted job ")
    job = first.split()[2]
    time.sleep(1)
    os.kill(proc.pid, signal.SIGINT)
    rest = proc.stderr.read()
    assert proc.wait(timeout=60) == 130
    assert f"stopped following job {job}, which keeps going on {NAME}" in rest
    assert f"ehpc job wait {NAME} {job}" in rest
    assert "terminate" not in rest  # a job followed is no cluster to remove
    cli.run("job", "cancel", NAME, job)


def test_attached_disk_is_writable_by_jobs(cli: Cli) -> None:
    cli.run("disk", "create", "hi-hard-d", "--size", "1G", "--attach", "--cluster", NAME,
            "--node", "node1", "--mount-point", DATA)
    out = cli.run("job", "submit", NAME, "--wait", "--", f"touch {DATA}/by-job && stat -c %U {DATA}/by-job")
    assert out.stdout == "ehpcuser\n"


def test_disk_bigger_than_the_host_file_system_leaves_nothing(cli: Cli) -> None:
    one_error_line(cli.disk("create", "hi-huge", "--size", "100T", check=False),
                   "is larger than the file system that holds local disks")
    assert "hi-huge" not in cli.disks()
    assert not list((cli.local_root / "disks").glob("hi-huge*"))


def test_job_list_shows_recent_history(cli: Cli) -> None:
    job = cli.run("job", "submit", NAME, "--wait", "--", "exit 3", check=False).stderr.split()[2]
    assert job not in {j["job_id"] for j in cli.json("job", "list", NAME)}  # the queue only
    history = {(j["job_id"], j["task"]): j for j in cli.json("job", "list", NAME, "--all")}
    assert (history[(job, "")]["state"], history[(job, "")]["exit_code"]) == ("failed", 3)
    assert {j["state"] for j in history.values()} >= {"completed", "failed", "cancelled"}
    assert {(j["job_id"], j["task"]) for j in cli.json("job", "list", NAME, "--since", "1d")} \
        == set(history)
    table = cli.run("job", "list", NAME, "--since", "2h").stdout
    assert table.startswith("JOB") and f"\n{job} " in table


def test_guide_nodes_terminate_removes_that_node_only(cli: Cli) -> None:  # last: it shrinks
    head = next(n["address"] for n in cli.json("nodes", "list", NAME) if n["role"] == "head")
    out = cli.guide("ehpc-client", "--nodes-terminate", f"-d={head}", f"-id={NAME}-node2")
    assert f"(ehpc cluster resize {NAME} --remove {NAME}-node2)" in out.stderr
    assert [n["name"] for n in cli.json("nodes", "list", NAME)] == [f"{NAME}-head", f"{NAME}-node1"]
    job = cli.run("job", "submit", NAME, "--wait", "--", "hostname", check=False)
    why = "scontrol show job; sinfo -N; tail -20 /var/log/slurm/slurmctld.log"
    assert job.stdout == f"{NAME}-node1\n", (job.stderr, cli.on(NAME, "head", why))
