"""psij's own Slurm executor test cases, re-expressed: run on a cluster's head as the cluster user.
Prints `PASS <case>` or `FAIL <case>: <why>` per case; the job files live under ~/.psij, which
must be the same on every node."""

from __future__ import annotations

import tempfile
import traceback
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from psij import Job, JobExecutor, JobSpec, JobState, SubmitException
from psij.executors.batch.slurm import SlurmExecutorConfig

TIMEOUT = timedelta(seconds=120)  # a job that takes longer counts as hung
CONFIG = SlurmExecutorConfig(queue_polling_interval=1, initial_queue_polling_delay=1)
EXECUTOR = JobExecutor.get_instance("slurm", config=CONFIG)
WORK = Path.home() / ".psij" / "cases"
CASES: list[Callable[[], None]] = []


def case(fn: Callable[[], None]) -> Callable[[], None]:
    CASES.append(fn)
    return fn


def run(spec: JobSpec) -> Job:
    job = Job(spec)
    EXECUTOR.submit(job)
    return job


def completed(job: Job) -> None:
    status = job.wait(timeout=TIMEOUT)
    assert status is not None and status.state == JobState.COMPLETED, f"{job.native_id}: {status}"


def output_of(spec_for: Callable[[Path], JobSpec], stream: str = "stdout.txt") -> str:
    with tempfile.TemporaryDirectory(dir=WORK) as tmp:
        completed(run(spec_for(Path(tmp))))
        return (Path(tmp) / stream).read_text()


@case
def simple() -> None:
    completed(run(JobSpec(executable="/bin/date")))


@case
def stdout_to_a_file() -> None:
    text = output_of(lambda d: JobSpec("/bin/echo", ["-n", "out"], stdout_path=d / "stdout.txt"))
    assert text == "out", text


@case
def stderr_to_a_file() -> None:
    text = output_of(lambda d: JobSpec("/bin/bash", ["-c", "echo -n err >&2"],
                                       stderr_path=d / "stderr.txt"), "stderr.txt")
    assert text == "err", text


@case
def environment() -> None:
    def spec(d: Path) -> JobSpec:
        job = JobSpec("/bin/bash", ["-c", "echo -n $ONE$TWO"], stdout_path=d / "stdout.txt")
        job.environment = {"ONE": "a", "TWO": "2"}
        return job
    assert output_of(spec) == "a2"


@case
def stdin_from_a_file() -> None:
    token = uuid.uuid4().hex

    def spec(d: Path) -> JobSpec:
        (d / "stdin.txt").write_text(token)
        return JobSpec("/bin/cat", stdin_path=d / "stdin.txt", stdout_path=d / "stdout.txt")
    assert output_of(spec) == token


@case
def failing_job() -> None:
    status = run(JobSpec(executable="/bin/false")).wait(timeout=TIMEOUT)
    assert status is not None and status.state == JobState.FAILED, status
    assert status.exit_code not in (None, 0), status


@case
def missing_executable() -> None:
    try:
        status = run(JobSpec(executable="/bin/no-such-program")).wait(timeout=TIMEOUT)
    except SubmitException:
        return
    assert status is not None and status.state == JobState.FAILED, status


@case
def cancel() -> None:
    job = run(JobSpec("/bin/sleep", ["60"]))
    job.wait(target_states=[JobState.ACTIVE], timeout=TIMEOUT)
    job.cancel()
    status = job.wait(timeout=TIMEOUT)
    assert status is not None and status.state == JobState.CANCELED, status


@case
def attach_from_another_executor() -> None:
    job = run(JobSpec("/bin/sleep", ["2"]))
    job.wait(target_states=[JobState.ACTIVE, JobState.COMPLETED], timeout=TIMEOUT)
    assert job.native_id is not None
    attached = Job()
    JobExecutor.get_instance("slurm", config=CONFIG).attach(attached, job.native_id)
    status = attached.wait(timeout=TIMEOUT)
    assert status is not None and status.state == JobState.COMPLETED, status
    completed(job)


@case
def listed_while_queued() -> None:
    job = run(JobSpec("/bin/sleep", ["3"]))
    assert job.native_id in EXECUTOR.list()
    completed(job)


@case
def parallel_jobs() -> None:
    jobs = [run(JobSpec("/bin/sleep", ["2"])) for _ in range(2)]
    for job in jobs:
        completed(job)


if __name__ == "__main__":
    WORK.mkdir(parents=True, exist_ok=True)
    for fn in CASES:
        try:
            fn()
            print(f"PASS {fn.__name__}", flush=True)
        except Exception:
            print(f"FAIL {fn.__name__}: {traceback.format_exc(limit=2)!r}", flush=True)
