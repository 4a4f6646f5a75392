"""Slurm: sbatch, scontrol, squeue, scancel, sinfo, and the job-completion log."""

from __future__ import annotations

import contextlib
import re
import time
from dataclasses import replace

from .base import TERMINAL, JobInfo, JobSpec, Scheduler, Submission, exit_status

_STATES = {
    "PENDING": "pending", "CONFIGURING": "pending", "REQUEUED": "pending",
    "RUNNING": "running", "COMPLETING": "running", "SUSPENDED": "running",
    "STOPPED": "running", "RESIZING": "running", "SIGNALING": "running",
    "COMPLETED": "completed",
    "CANCELLED": "cancelled", "PREEMPTED": "cancelled", "REVOKED": "cancelled",
}
# Key=value pairs of `scontrol -o` and the job-completion log; a value (a job's name) may hold
# spaces, so it runs to the next ` Key=`.
_FIELD = re.compile(r"(\w+)=(.*?)(?= \w+=|$)")
JOBCOMP = "/var/log/slurm/jobcomp.txt"
PARTITION = "main"  # the one partition bootstrap/slurm.py writes into slurm.conf


def _state(raw: str) -> str:
    return _STATES.get(raw, "failed")  # FAILED, TIMEOUT, NODE_FAIL, OUT_OF_MEMORY, DEADLINE...


def _records(output: str) -> list[dict[str, str]]:
    return [dict(_FIELD.findall(line)) for line in output.splitlines() if "JobId=" in line]


def _info(fields: dict[str, str]) -> JobInfo:
    array_id = fields.get("ArrayJobId", "")
    task = fields.get("ArrayTaskId", "")
    state = fields.get("JobState", "")
    return JobInfo(
        job_id=array_id if array_id and task else fields.get("JobId", ""),
        task=task,
        name=fields.get("JobName", fields.get("Name", "")),
        state=_state(state),
        raw_state=state,
        # Slurm says ExitCode=0:0 before a job ends: no exit code until it has one.
        exit_code=exit_status(fields.get("ExitCode", "")) if _state(state) in TERMINAL else None,
        nodes=fields.get("NodeList", "").replace("(null)", ""),
        user=fields.get("UserId", "").split("(")[0],
        elapsed=fields.get("RunTime", ""),
    )


def _ended_since(end: str, since: float) -> bool:
    """The job-completion log's EndTime (the head's local time) at or after `since`."""
    try:
        return time.mktime(time.strptime(end, "%Y-%m-%dT%H:%M:%S")) >= since
    except ValueError:
        return False


def _tasks(info: JobInfo) -> list[JobInfo]:
    """One entry per array task: scontrol shows an array's pending tasks as one record whose
    ArrayTaskId is a range set (`1-3`, `2,5-9:2`, `1-100%10`)."""
    if info.task.isdigit() or not info.task:
        return [info]
    ids: list[int] = []
    for part in info.task.split("%")[0].split(","):
        first, _, rest = part.partition("-")
        last, _, step = rest.partition(":")
        ids += range(int(first), int(last or first) + 1, int(step or 1))
    return [replace(info, task=str(i)) for i in ids]


_SACCT_FIELDS = "JobID,JobName,State,ExitCode,NodeList,User,Elapsed"


def _sacct_else(select: str, fallback: str, argument: str) -> list[str]:
    """sacct's records (`select` naming them by "$1" = `argument`) when the cluster has
    accounting (slurmdbd), else `fallback` on the job-completion log."""
    script = (f'out=$(sacct -n -P -X {select} --format={_SACCT_FIELDS} 2>/dev/null) '
              '&& [ -n "$out" ] && { echo "$out"; exit 0; }; ' + fallback)
    return ["bash", "-c", script, "sacct", argument]


def _sacct_info(line: str) -> JobInfo:
    """One `sacct -P` line: 12_3|name|CANCELLED by 0|0:15|node1|user|00:00:05."""
    job, name, raw, code, nodes, user, elapsed = line.split("|")
    job_id, _, task = job.partition("_")
    raw = raw.split()[0] if raw else ""
    state = _state(raw)
    return JobInfo(job_id, task, name, state, raw, exit_status(code) if state in TERMINAL else None,
                   nodes, user, elapsed)


class Slurm(Scheduler):
    name = "slurm"
    power_saving = True
    job_id_var = "${SLURM_ARRAY_JOB_ID:-$SLURM_JOB_ID}"

    def submit(self, spec: JobSpec, workdir: str, hold: bool = False) -> Submission:
        tag = "%A_%a" if spec.array else "%j"
        stdout = spec.stdout or f"{workdir}/{spec.name}-{tag}.out"
        stderr = spec.stderr or f"{workdir}/{spec.name}-{tag}.err"
        argv = [
            "sbatch", "--parsable", f"--job-name={spec.name}", f"--chdir={workdir}",
            f"--cpus-per-task={spec.cpus}", f"--output={stdout}", f"--error={stderr}",
        ]
        if spec.memory_mb:
            argv.append(f"--mem={spec.memory_mb}M")
        if spec.walltime_min:
            argv.append(f"--time={spec.walltime_min}")
        if spec.array:
            argv.append(f"--array={spec.array}")
        if hold:
            argv.append("--hold")
        return Submission(argv, spec.body(), stdout, stderr)

    def unhold_argv(self, job_ids: list[str]) -> list[str]:
        return ["scontrol", "release", ",".join(job_ids)]

    def parse_submit(self, output: str) -> str:
        job_id = output.strip().split(";")[0]
        if not job_id.isdigit():
            raise ValueError(f"sbatch said {output.strip()!r}")
        return job_id

    def status_argv(self, job_id: str) -> list[str]:
        return ["scontrol", "show", "job", "-o", job_id]

    def parse_status(self, job_id: str, output: str) -> list[JobInfo]:
        return [task for r in _records(output) for task in _tasks(_info(r))]

    def finished_argv(self, job_id: str) -> list[str]:
        return _sacct_else('-j "$1"', f'grep -E "^JobId=$1 |ArrayJobId=$1 " {JOBCOMP}', job_id)

    def parse_finished(self, job_id: str, output: str) -> list[JobInfo]:
        if "JobId=" in output:
            return [_info(r) for r in _records(output)]
        return [_sacct_info(line) for line in output.splitlines() if line.count("|") == 6]

    def history_argv(self, since: float) -> list[str]:
        # the job-completion log's last lines are filtered in parse_history
        start = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(since))
        return _sacct_else('-a -S "$1"', f"tail -n 5000 {JOBCOMP} 2>/dev/null; true", start)

    def parse_history(self, output: str, since: float) -> list[JobInfo]:
        if "JobId=" not in output:
            return [i for i in self.parse_finished("", output) if i.finished]
        return [_info(r) for r in _records(output) if _ended_since(r.get("EndTime", ""), since)]

    def list_argv(self) -> list[str]:
        return ["squeue", "-h", "-r", "-o", "%F|%K|%j|%T|%u|%M|%N"]

    def parse_list(self, output: str) -> list[JobInfo]:
        jobs = []
        for line in output.splitlines():
            parts = line.split("|")
            if len(parts) != 7:
                continue
            job_id, task, name, raw, user, elapsed, nodes = parts
            jobs.append(
                JobInfo(job_id, "" if task in ("N/A", "") else task, name, _state(raw), raw,
                        None, nodes, user, elapsed)
            )
        return jobs

    def cancel_argv(self, job_id: str) -> list[str]:
        return ["scancel", job_id]

    def nodes_argv(self) -> list[str]:
        return ["sinfo", "-h", "-N", "-o", "%N %t"]

    def parse_nodes(self, output: str) -> dict[str, str]:
        states = {}
        for line in output.splitlines():
            if line.strip():
                node, state = line.split()
                states[node] = state.rstrip("*~#!%$@^-")
        return states

    def loads_argv(self) -> list[str]:
        return ["sinfo", "-h", "-N", "-o", "%N %O"]

    def parse_loads(self, output: str) -> dict[str, float]:
        loads = {}
        for line in output.splitlines():
            node, _, load = line.strip().partition(" ")
            with contextlib.suppress(ValueError):  # N/A until the node has reported
                loads[node] = float(load)
        return loads

    def cpus_argv(self) -> list[str]:
        return ["sinfo", "-h", "-N", "-o", "%c"]

    def parse_cpus(self, output: str) -> int:
        return max((int(w) for w in output.split() if w.isdigit()), default=0)

    def log_globs(self, job_id: str, stdout: str, stderr: str, task: str = "*") -> tuple[str, str]:
        def expand(pattern: str) -> str:
            return pattern.replace("%A", job_id).replace("%a", task).replace("%j", job_id)

        return expand(stdout), expand(stderr)

    def drain_argv(self, nodes: list[str], reason: str) -> list[str]:
        return ["scontrol", "update", f"NodeName={','.join(nodes)}", "State=DRAIN", f"Reason={reason}"]

    def down_argv(self, nodes: list[str], reason: str) -> list[str]:
        return ["scontrol", "update", f"NodeName={','.join(nodes)}", "State=DOWN", f"Reason={reason}"]

    def close_argv(self) -> list[str]:  # INACTIVE: sbatch refuses, pending jobs do not start
        return ["scontrol", "update", f"PartitionName={PARTITION}", "State=INACTIVE"]

    def open_argv(self) -> list[str]:
        return ["scontrol", "update", f"PartitionName={PARTITION}", "State=UP"]

    def address_argv(self, node: str, address: str) -> list[str] | None:
        return ["scontrol", "update", f"NodeName={node}", f"NodeAddr={address}", f"NodeHostname={node}"]

    def resume_argv(self, nodes: list[str]) -> list[str]:
        return ["scontrol", "update", f"NodeName={','.join(nodes)}", "State=RESUME"]

    def jobs_on_argv(self, nodes: list[str]) -> list[str]:
        return ["squeue", "-h", "-t", "RUNNING,COMPLETING,CONFIGURING", "-w", ",".join(nodes), "-o", "%i"]

    def parse_jobs_on(self, output: str, nodes: list[str]) -> list[str]:
        return output.split()

    def requeue_argv(self, job_ids: list[str]) -> list[str]:
        return ["scontrol", "requeue", ",".join(job_ids)]

    def release_argv(self, job_ids: list[str]) -> list[str] | None:
        # A requeued job waits about two minutes (its begin time) unless released.
        return ["scontrol", "update", f"JobId={','.join(job_ids)}", "StartTime=now"]

