"""Grid Engine (Son of Grid Engine): qsub, qstat, qdel, qacct, and the queue's host states."""

from __future__ import annotations

import contextlib
import re
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Collection

from ..errors import ConfigError
from .base import JobInfo, JobSpec, Scheduler, Submission

QUEUE = "all.q"
PE = "smp"
_ACCOUNTING_MARK = "--ehpc-qacct--"
_CANCELLED_MARK = "--ehpc-cancelled--"
# qacct (8.1.9) does not say who ended a job, so `ehpc job cancel` keeps a list on the head.
CANCELLED = "/var/spool/gridengine/ehpc-cancelled"
_RANGE = re.compile(r"^(\d+)(?:-(\d+)(?::(\d+))?)?$")


def _state(raw: str) -> str:
    if "E" in raw:
        return "failed"  # an error state: the job cannot run as submitted
    if "d" in raw:
        return "cancelled" if "r" not in raw and "t" not in raw else "running"
    if any(flag in raw for flag in "rtRsS"):
        return "running"
    return "pending"  # qw, hqw


def _live(output: str) -> list[JobInfo]:
    """qstat -xml -g d: one job_list element per job, array task and pending task range."""
    try:
        root = ElementTree.fromstring(output)
    except ElementTree.ParseError:
        return []
    infos = []
    for job in root.iter("job_list"):
        raw = job.findtext("state", "")
        queue = job.findtext("queue_name", "")
        for task in _tasks(job.findtext("tasks", "")):
            infos.append(JobInfo(
                job_id=job.findtext("JB_job_number", ""), task=task,
                name=job.findtext("JB_name", ""), state=_state(raw), raw_state=raw,
                nodes=queue.partition("@")[2], user=job.findtext("JB_owner", ""),
            ))
    return infos


def _tasks(text: str) -> list[str]:
    """'' -> one plain job; '3' -> task 3; '4-9:1' (pending tasks, folded) -> each task id."""
    if not text:
        return [""]
    tasks = []
    for part in text.split(","):
        match = _RANGE.match(part.strip())
        if match:
            first, last, step = match.group(1), match.group(2) or match.group(1), match.group(3)
            tasks += [str(t) for t in range(int(first), int(last) + 1, int(step or 1))]
    return tasks


def _finished(output: str, cancelled: Collection[str]) -> list[JobInfo]:
    """qacct -j: records separated by lines of '=', one per job or array task (`cancelled`: the
    ids qdel was given)."""
    infos = []
    for block in re.split(r"^=+$", output, flags=re.MULTILINE):
        pairs = ([*line.strip().split(None, 1), ""] for line in block.splitlines() if line.strip())
        fields = {pair[0]: pair[1].strip() for pair in pairs}
        if "jobnumber" not in fields:
            continue
        failed = fields.get("failed", "0").split()[0]
        code = int(fields.get("exit_status", "0").split()[0])
        if code == 0 and failed == "0":
            state = "completed"
        else:  # a cancelled job that was running is killed (failed 100, exit 137)
            state = "cancelled" if fields["jobnumber"] in cancelled and failed == "100" else "failed"
        infos.append(JobInfo(
            job_id=fields["jobnumber"],
            task="" if fields.get("taskid", "undefined") == "undefined" else fields["taskid"],
            name=fields.get("jobname", ""), state=state,
            raw_state=f"failed={failed}" if failed != "0" else "done",
            exit_code=code, nodes=fields.get("hostname", ""), user=fields.get("owner", ""),
            elapsed=fields.get("ru_wallclock", ""),
        ))
    return infos


# With no exec host (an autoscaled cluster before its first node, or every compute node removed)
# qsub queues the job but warns that it cannot run anywhere and exits 1: take "has been
# submitted" as the success it is.
_SUBMIT_WITHOUT_HOSTS = (
    'out=$(qsub "$@" 2>&1); r=$?; [ "$r" = 0 ] && { printf "%s\\n" "$out"; exit 0; }; '
    'id=$(printf "%s\\n" "$out" | sed -n "s/^Your job[-a-z]* \\([0-9]*\\).*has been submitted.*/\\1/p"); '
    '[ -n "$id" ] && { echo "$id"; exit 0; }; printf "%s\\n" "$out" >&2; exit "$r"'
)


def _sge_array(array: str) -> tuple[str, str | None]:
    """Grid Engine takes one range n[-m[:s]] and a concurrency limit (-tc) for '%k'."""
    spec, _, limit = array.partition("%")
    if not _RANGE.match(spec):
        raise ConfigError(f"--array {array!r}: Grid Engine takes one range such as 1-20 or 1-20:2")
    return spec, limit or None


class GridEngine(Scheduler):
    name = "sge"
    job_id_var = "$JOB_ID"

    def submit(self, spec: JobSpec, workdir: str, hold: bool = False) -> Submission:
        tag = "$JOB_ID.$TASK_ID" if spec.array else "$JOB_ID"
        stdout = spec.stdout or f"{workdir}/{spec.name}-{tag}.out"
        stderr = spec.stderr or f"{workdir}/{spec.name}-{tag}.err"
        if spec.name[0].isdigit():
            raise ConfigError(f"job name {spec.name!r}: Grid Engine names must not start with a digit")
        # -C '': no '#$' directives are read from the script, so the command runs exactly as given.
        argv = ["qsub", "-terse", "-C", "", "-S", "/bin/bash", "-N", spec.name, "-wd", workdir,
                "-o", stdout, "-e", stderr]  # all.q, the one queue (no -q: it may have no host yet)

        if spec.cpus > 1:
            argv += ["-pe", PE, str(spec.cpus)]
        if spec.memory_mb:
            argv += ["-l", f"mem_free={spec.memory_mb}M"]
        if spec.walltime_min:
            argv += ["-l", f"h_rt={spec.walltime_min * 60}"]
        if spec.array:
            tasks, limit = _sge_array(spec.array)
            argv += ["-t", tasks, *(["-tc", limit] if limit else [])]
        if hold:
            argv.append("-h")
        argv = ["bash", "-c", _SUBMIT_WITHOUT_HOSTS, "qsub", *argv[1:]]
        return Submission(argv, spec.body(), stdout, stderr)

    def unhold_argv(self, job_ids: list[str]) -> list[str]:
        return ["qrls", *job_ids]

    def parse_submit(self, output: str) -> str:
        job_id = output.strip().split(".")[0]
        if not job_id.isdigit():
            raise ValueError(f"qsub said {output.strip()!r}")
        return job_id

    def status_argv(self, job_id: str) -> list[str]:
        # The queue and the accounting file in one round trip: an array's finished tasks are
        # only in qacct while the others are still queued.
        script = (
            f'qstat -u "*" -g d -xml; echo {_ACCOUNTING_MARK}; qacct -j "$1" 2>/dev/null; '
            f'grep -qx "$1" {CANCELLED} 2>/dev/null && echo {_CANCELLED_MARK}; true'
        )
        return ["bash", "-c", script, "status", job_id]

    def parse_status(self, job_id: str, output: str) -> list[JobInfo]:
        live, _, done = output.partition(_ACCOUNTING_MARK)
        cancelled = _CANCELLED_MARK in done
        infos = {(i.job_id, i.task): i for i in _finished(done, {job_id} if cancelled else ())
                 if i.job_id == job_id}
        infos.update({(i.job_id, i.task): i for i in _live(live) if i.job_id == job_id})
        if cancelled and not infos:  # deleted while pending: Grid Engine keeps no record
            infos[(job_id, "")] = JobInfo(job_id, "", "", "cancelled", "deleted")
        return sorted(infos.values(), key=lambda i: int(i.task or 0))

    def history_argv(self, since: float) -> list[str]:
        begin = time.strftime("%Y%m%d%H%M", time.localtime(since))
        script = (f'qacct -b "$1" -j 2>/dev/null; echo {_CANCELLED_MARK}; '
                  f'cat {CANCELLED} 2>/dev/null; true')
        return ["bash", "-c", script, "history", begin]

    def parse_history(self, output: str, since: float) -> list[JobInfo]:
        done, _, cancelled = output.partition(_CANCELLED_MARK)
        return _finished(done, set(cancelled.split()))

    def list_argv(self) -> list[str]:
        return ["qstat", "-u", "*", "-g", "d", "-xml"]

    def parse_list(self, output: str) -> list[JobInfo]:
        return _live(output)

    def cancel_argv(self, job_id: str) -> list[str]:
        return ["bash", "-c", f'qdel "$1" && echo "$1" >> {CANCELLED}', "cancel", job_id]

    def nodes_argv(self) -> list[str]:
        return ["qstat", "-f", "-q", QUEUE]

    def parse_loads(self, output: str) -> dict[str, float]:
        """The same queue instances' load_avg column (`-NA-` until the host reports)."""
        loads = {}
        for line in output.splitlines():
            parts = line.split()
            if len(parts) > 3 and parts[0].startswith(f"{QUEUE}@"):
                with contextlib.suppress(ValueError):
                    loads[parts[0].partition("@")[2]] = float(parts[3])
        return loads

    def parse_nodes(self, output: str) -> dict[str, str]:
        """Queue instances `all.q@host  BIP  0/1/2  0.01  lx-amd64  [states]` -> host state."""
        states = {}
        for line in output.splitlines():
            parts = line.split()
            if len(parts) < 3 or not parts[0].startswith(f"{QUEUE}@"):
                continue
            host = parts[0].partition("@")[2]
            used, total = (int(n) for n in parts[2].split("/")[1:3])
            flags = parts[5] if len(parts) > 5 else ""
            if any(flag in flags for flag in "uadEs"):
                states[host] = "down"
            else:
                states[host] = "idle" if used == 0 else "alloc" if used >= total else "mix"
        return states

    def parse_cpus(self, output: str) -> int:
        """The slot total of each `all.q@host  BIP  0/1/2` line (slots = the node's CPUs)."""
        totals = [int(parts[2].split("/")[-1]) for line in output.splitlines()
                  if len(parts := line.split()) >= 3 and parts[0].startswith(f"{QUEUE}@")]
        return max(totals, default=0)

    def log_globs(self, job_id: str, stdout: str, stderr: str, task: str = "*") -> tuple[str, str]:
        def expand(pattern: str) -> str:
            return pattern.replace("$JOB_ID", job_id).replace("$TASK_ID", task)

        return expand(stdout), expand(stderr)

    def drain_argv(self, nodes: list[str], reason: str) -> list[str]:
        return ["qmod", "-d", *(f"{QUEUE}@{node}" for node in nodes)]

    down_argv = drain_argv  # Grid Engine requeues nothing by itself: the caller reschedules

    def resume_argv(self, nodes: list[str]) -> list[str]:
        return ["qmod", "-e", *(f"{QUEUE}@{node}" for node in nodes)]

    def close_argv(self) -> list[str]:  # every instance of the queue: qsub still queues
        return ["qmod", "-d", QUEUE]

    def open_argv(self) -> list[str]:
        return ["qmod", "-e", QUEUE]

    def jobs_on_argv(self, nodes: list[str]) -> list[str]:
        return self.list_argv()

    def parse_jobs_on(self, output: str, nodes: list[str]) -> list[str]:
        return [f"{i.job_id}.{i.task}" if i.task else i.job_id
                for i in _live(output) if i.state == "running" and i.nodes in nodes]

    def requeue_argv(self, job_ids: list[str]) -> list[str]:
        # -f: also jobs not marked rerunnable, and on an exec host that no longer answers
        return ["qmod", "-f", "-rj", *job_ids]
