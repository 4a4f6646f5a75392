"""The Slurm adapter's commands and parsers, on output captured from Slurm 22.05."""

from __future__ import annotations

import subprocess

import pytest

from elastichpc.errors import ConfigError
from elastichpc.schedulers import JobSpec, get_scheduler

SCONTROL_ARRAY = (
    "JobId=13 ArrayJobId=12 ArrayTaskId=1 JobName=job UserId=ehpcuser(1500) GroupId=ehpcuser(1500) "
    "JobState=COMPLETED Reason=None ExitCode=0:0 RunTime=00:00:01 NodeList=demo-node1\n"
    "JobId=14 ArrayJobId=12 ArrayTaskId=2 JobName=job UserId=ehpcuser(1500) GroupId=ehpcuser(1500) "
    "JobState=FAILED Reason=NonZeroExitCode ExitCode=3:0 RunTime=00:00:01 NodeList=demo-node2\n"
    "JobId=12 ArrayJobId=12 ArrayTaskId=3-4 JobName=job UserId=ehpcuser(1500) "
    "JobState=PENDING Reason=None ExitCode=0:0 RunTime=00:00:00 NodeList=(null)\n"
)


def test_submit_renders_resources_as_arguments() -> None:
    spec = JobSpec(["hostname"], name="n", cpus=2, memory_mb=512, walltime_min=90, array="1-20%4")
    sub = get_scheduler("slurm").submit(spec, "/shared/jobs")
    assert sub.argv == [
        "sbatch", "--parsable", "--job-name=n", "--chdir=/shared/jobs", "--cpus-per-task=2",
        "--output=/shared/jobs/n-%A_%a.out", "--error=/shared/jobs/n-%A_%a.err", "--mem=512M",
        "--time=90", "--array=1-20%4",
    ]


def test_argv_commands_survive_exactly() -> None:
    spec = JobSpec(["printf", "%s|", "a;b", "$HOME", "it's", '"q"'], env={"X": "a b$c"})
    out = subprocess.run(["bash", "-c", spec.body()], capture_output=True, text=True, check=True)
    assert out.stdout == "a;b|$HOME|it's|\"q\"|"


def test_one_word_is_a_shell_line() -> None:
    spec = JobSpec(["echo one; echo $X"], env={"X": "two"})
    out = subprocess.run(["bash", "-c", spec.body()], capture_output=True, text=True, check=True)
    assert out.stdout == "one\ntwo\n"


def test_status_of_an_array() -> None:
    infos = get_scheduler("slurm").parse_status("12", SCONTROL_ARRAY)
    assert [(i.job_id, i.task, i.state, i.exit_code, i.nodes) for i in infos] == [
        ("12", "1", "completed", 0, "demo-node1"),
        ("12", "2", "failed", 3, "demo-node2"),
        ("12", "3", "pending", None, ""),  # scontrol's one record for the pending rest: a task each
        ("12", "4", "pending", None, ""),
    ]


def test_pending_task_sets_are_expanded() -> None:
    line = "JobId=5 ArrayJobId=5 ArrayTaskId=1-3,7-11:2%2 JobName=j JobState=PENDING UserId=u(1)"
    infos = get_scheduler("slurm").parse_status("5", line)
    assert [i.task for i in infos] == ["1", "2", "3", "7", "9", "11"]


def test_signals_become_shell_exit_codes() -> None:
    (info,) = get_scheduler("slurm").parse_status(
        "5", "JobId=5 JobName=j JobState=CANCELLED ExitCode=0:15 NodeList=n1\n"
    )
    assert (info.state, info.exit_code) == ("cancelled", 143)


def test_node_states() -> None:
    out = "demo-node1 idle\ndemo-node2 alloc\ndemo-node3 down*\n"
    assert get_scheduler("slurm").parse_nodes(out) == {
        "demo-node1": "idle", "demo-node2": "alloc", "demo-node3": "down"
    }


@pytest.mark.parametrize(
    "spec",
    [
        JobSpec([]),
        JobSpec(["x"], name="a b"),
        JobSpec(["x"], cpus=0),
        JobSpec(["x"], array="1-;5"),
        JobSpec(["x"], env={"1X": "y"}),
    ],
)
def test_bad_job_specs(spec: JobSpec) -> None:
    with pytest.raises(ConfigError):
        spec.validate()


def test_slurm_names_with_spaces_and_no_exit_code_before_the_end() -> None:
    slurm = get_scheduler("slurm")
    line = ("JobId=7 JobName=my long job UserId=ehpcuser(1500) GroupId=ehpcuser(1500) "
            "JobState={} Reason=None ExitCode=0:0 RunTime=00:00:01 NodeList=demo-node1\n")
    running, = slurm.parse_status("7", line.format("RUNNING"))
    assert (running.name, running.state, running.exit_code) == ("my long job", "running", None)
    done, = slurm.parse_status("7", line.format("COMPLETED"))
    assert (done.name, done.exit_code) == ("my long job", 0)
    sacct, = slurm.parse_finished("7", "7|a b|RUNNING|0:0|demo-node1|ehpcuser|00:00:03\n")
    assert (sacct.name, sacct.exit_code) == ("a b", None)


def test_slurm_history_keeps_what_ended_since() -> None:
    import time

    slurm = get_scheduler("slurm")
    since = time.mktime(time.strptime("2026-12-07T22:00:00", "%Y-%m-%dT%H:%M:%S"))
    log = ("JobId=3 UserId=ehpcuser(1500) Name=old one JobState=COMPLETED EndTime=2026-12-07T21:59:59 "
           "NodeList=n1 ExitCode=0:0\n"
           "JobId=4 UserId=ehpcuser(1500) Name=new one JobState=FAILED EndTime=2026-12-07T22:00:01 "
           "NodeList=n1 ExitCode=2:0\n")
    assert [(i.job_id, i.name, i.state, i.exit_code) for i in slurm.parse_history(log, since)] == [
        ("4", "new one", "failed", 2)]
    accounted = "5|x|COMPLETED|0:0|n1|u|00:00:01\n6|y|RUNNING|0:0|n1|u|00:00:01\n"
    assert [i.job_id for i in slurm.parse_history(accounted, since)] == ["5"]
