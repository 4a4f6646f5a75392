"""Jobs on a cluster: submit (or run directly on the head), status, list, logs, cancel, wait."""

from __future__ import annotations

import contextlib
import io
import json
import re
import secrets
import shlex
import subprocess
import tarfile
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from ..config import Settings
from ..errors import ConfigError, EhpcError, RemoteCommandError
from ..remote import ClusterShell, in_parallel
from ..schedulers import JobInfo, JobSpec, Submission
from ..state import JobRow, Journal
from .context import ClusterContext, open_cluster

JOB_ID_RE = re.compile(r"^[0-9]+([._][0-9]+)?$")


def _check_job_id(job_id: str) -> str:
    if not JOB_ID_RE.match(job_id):
        raise ConfigError(f"{job_id!r} is not a job id")
    return job_id


OWNER_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")


def resolve_owner(context: ClusterContext, owner: str | None, direct: bool) -> tuple[bool, str]:
    """(run directly on the head?, unix user) for the guide's --owner values, the same rules
    on every scheduler (Scheduler.direct_owners; the cluster user's own name counts too)."""
    user = context.spec.cluster_user
    if owner is None:
        return False, user
    if not OWNER_RE.match(owner):
        raise ConfigError(f"--owner {owner!r} is not a user name (e.g. system, ubuntu, sge)")
    if direct:
        runs_as = "root" if owner == "system" else owner
        if context.spec.head.provider == "local" and runs_as not in ("root", "ubuntu", user):
            raise ConfigError(
                f"--owner {owner} --direct: on a local cluster only system, ubuntu and {user} run "
                f"directly; {owner} would be a user of this machine, the same on every local "
                "cluster of it (submit without --direct: a scheduler job as the cluster user)")
        return True, runs_as
    if owner == user:
        return True, user
    if owner in context.scheduler.direct_owners:
        return True, context.scheduler.direct_owners[owner] or user
    return False, user


def staged_paths(command: list[str], files: Sequence[Path]) -> dict[str, str]:
    """Paths of input files as a one-line command names them -> the staged copy's name in the
    job's working directory (the guide's `seqret -sequence /home/user/file1` with
    `--input-files=/home/user/file1`)."""
    if len(command) != 1:
        return {}
    found = {}
    for path in files:
        if str(path) != path.name and re.search(_word(str(path)), command[0]):
            found[str(path)] = path.name
    return found


def _word(path: str) -> str:
    """The path as a whole word of a shell line (not part of a longer path)."""
    return rf"(?<![\w./-]){re.escape(path)}(?![\w./-])"


def _rewrite_staged(spec: JobSpec, files: Sequence[Path], workdir: str | None) -> JobSpec:
    """The command reads the staged copies: under `workdir`, or (None) in the job's own
    directory, where the job starts, by their relative names."""
    found = staged_paths(spec.command, files)
    if not found:
        return spec
    line = spec.command[0]
    for path, name in found.items():
        staged = shlex.quote(f"{workdir}/{name}" if workdir else f"./{name}")
        # as a replacement template a quoted path's backslashes would be read as escapes
        line = re.sub(_word(path), staged.replace("\\", "\\\\"), line)
    return replace(spec, command=[line])


def check_inputs(command: list[str], files: Sequence[Path]) -> None:
    """Before anything is made: input files exist and have distinct names (they land in one
    directory); a local script named as ./x or ../x exists."""
    names: dict[str, Path] = {}
    for path in files:
        if not path.is_file():
            raise ConfigError(f"input file {path} does not exist or is not a file")
        if path.name in names:
            raise ConfigError(f"input files {names[path.name]} and {path} have the same name: "
                              "both would be staged as " + path.name)
        names[path.name] = path
    words = command[0].split() if len(command) == 1 else command[:1]
    if words and words[0].startswith(("./", "../")) and not Path(words[0]).is_file():
        raise ConfigError(f"script {words[0]} does not exist here (a local script is copied to "
                          "the cluster; name a script already on the cluster by its absolute path)")


def _tar(files: Sequence[Path], executables: Collection[Path] = ()) -> bytes:
    """The files as one tar stream, each under its own name; the scripts executable."""
    buffer = io.BytesIO()
    run_bits = {path.name for path in executables}

    def mode(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.mode |= 0o755 if info.name in run_bits else 0o644
        return info

    # A symlinked script or input goes as what it points to: the link would point nowhere there.
    with tarfile.open(fileobj=buffer, mode="w", dereference=True) as tar:
        for path in files:
            if not path.is_file():
                raise ConfigError(f"input file {path} does not exist or is not a file")
            tar.add(path, arcname=path.name, filter=mode)
    return buffer.getvalue()


def stage_files(
    context: ClusterContext, files: Sequence[Path], dest: str, user: str,
    executables: Collection[Path] = (),
) -> None:
    """Copy local files into `dest` on the head (shared storage) in one SSH round trip."""
    context.shell.run(
        context.head, ["tar", "-x", "--no-same-owner", "-C", dest],
        input=_tar(files, executables), user=user,
    )


def _local_script(command: list[str]) -> Path | None:
    """`-- ./task.sh args`: a script on this machine is staged and run on the cluster."""
    first = command[0]
    path = Path(first)
    return path if "/" in first and path.is_file() else None


def _run_staged(spec: JobSpec, workdir: str | None) -> JobSpec:
    """A staged local script becomes an exact argv: the script on the cluster (under `workdir`,
    or in the job's own directory), then its arguments."""
    script = _local_script(spec.command)
    if script is None:
        return spec
    staged = f"{workdir}/{script.name}" if workdir else f"./{script.name}"
    return replace(spec, command=["env", staged, *spec.command[1:]])


def job_dir(jobs_root: str, job_id: str) -> str:
    """Where a job submitted without --workdir works: a directory of its own, named by its id
    (an array's tasks share their array's)."""
    return f"{jobs_root}/{job_id}"


def _in_own_dir(spec: JobSpec, jobs_root: str, id_var: str) -> JobSpec:
    """The job starts in its own directory under `jobs_root`, made by the job itself where
    nothing was staged (on a cluster without a shared directory too), and $EHPC_JOB_DIR names
    it. Its output files stay beside the job directories, which exist on every node."""
    line = spec.command[0] if len(spec.command) == 1 else "exec " + shlex.join(spec.command)
    enter = (f"export EHPC_JOB_DIR={shlex.quote(jobs_root)}/{id_var}\n"
             'mkdir -p -- "$EHPC_JOB_DIR" && cd -- "$EHPC_JOB_DIR" || exit 1\n')
    return replace(spec, command=[enter + line])


def submit_job(
    cluster: str,
    spec: JobSpec,
    *,
    input_files: Sequence[Path] = (),
    owner: str | None = None,
    journal: Journal | None = None,
    settings: Settings | None = None,
) -> str:
    """Submit a scheduler job; returns its id."""
    return submit_jobs(cluster, [spec], input_files=input_files, owner=owner, journal=journal,
                       settings=settings)[0]


def submit_jobs(
    cluster: str,
    specs: Sequence[JobSpec],
    *,
    input_files: Sequence[Path] = (),
    owner: str | None = None,
    journal: Journal | None = None,
    settings: Settings | None = None,
) -> list[str]:
    """Submit jobs that share one working directory, every submission in one script run on the
    head over one SSH connection; returns their ids in order."""
    if not specs:
        raise ConfigError("no jobs to submit")
    for spec in specs:
        spec.validate()
        check_inputs(spec.command, input_files)
    if len({spec.workdir for spec in specs}) > 1:
        raise ConfigError("jobs submitted together share one working directory")
    context = open_cluster(cluster, journal, settings)
    _, user = resolve_owner(context, owner, False)
    _check_cpus(context, max(spec.cpus for spec in specs))
    chosen = specs[0].workdir  # None: every job in a directory of its own
    root = chosen or f"{context.spec.shared_dir}/jobs"
    scripts = {path for path in (_local_script(spec.command) for spec in specs) if path}
    staged = [*input_files, *sorted(scripts)]
    if chosen and staged:
        stage_files(context, staged, chosen, user, executables=scripts)
    specs = [_rewrite_staged(_run_staged(spec, chosen), input_files, chosen) for spec in specs]
    if not chosen:
        specs = [_in_own_dir(spec, root, context.scheduler.job_id_var) for spec in specs]
    # Files for a job's own directory go there once its id is known, while it is held.
    hold = bool(staged) and not chosen
    submissions = [context.scheduler.submit(spec, root, hold) for spec in specs]
    job_ids, refused, result = _submit_batch(context, submissions, user)
    rows = [
        JobRow(
            cluster, job_id, context.scheduler.name, owner or user, spec.name,
            {"stdout": submission.stdout, "stderr": submission.stderr, "array": spec.array,
             "workdir": chosen or job_dir(root, job_id), "user": user},
            time.time(),
        )
        for job_id, spec, submission in zip(job_ids, specs, submissions, strict=False)
    ]
    context.journal.add_jobs(rows)  # one transaction for the whole batch
    _tell_agent(context, rows)
    if len(job_ids) < len(specs):
        if hold:
            _cancel_quietly(context, job_ids)
        # Some wrappers (PBS's qsub) report a refusal on standard output, among other lines.
        said = [line.strip(" '\"") for line in (result.stderr + refused).splitlines() if line.strip()]
        errors = [line for line in said if "error" in line.lower()]
        detail = (errors or said or [f"exit code {result.returncode}"])[-1]
        which = "the job" if len(specs) == 1 else f"job {len(job_ids) + 1} of {len(specs)}"
        raise EhpcError(f"{context.scheduler.name} did not accept {which}: {detail}")
    if hold:
        _stage_and_release(context, staged, scripts, root, job_ids, user)
    return job_ids


def _tell_agent(context: ClusterContext, rows: list[JobRow]) -> None:
    """The head agent's journal learns the jobs submitted here, so that its dashboard shows
    their output as it shows the web form's."""
    from ..agent.head import on_head
    from ..agent.install import call_agent, has_agent

    if rows and has_agent(context) and not on_head(context.journal):
        with contextlib.suppress(EhpcError):  # submitted all the same: only the dashboard's logs miss
            call_agent(context, ["jobs", "add"], input=json.dumps([asdict(r) for r in rows]))


def _agents_job(context: ClusterContext, job_id: str) -> JobRow | None:
    """The head agent's record of a job submitted there (the web form), kept here from then on."""
    from ..agent.head import on_head
    from ..agent.install import call_agent, has_agent

    if not has_agent(context) or on_head(context.journal):
        return None
    found = call_agent(context, ["jobs", "get", job_id])
    if not found:
        return None
    row = JobRow(**found)
    context.journal.add_jobs([row])
    return row


def _submit_batch(
    context: ClusterContext, submissions: Sequence[Submission], user: str
) -> tuple[list[str], str, subprocess.CompletedProcess[str]]:
    """Every submission in one script on the head: the ids accepted, what the first refusal
    said, and the run."""
    mark = f"--ehpc-{secrets.token_hex(8)}--"
    result = context.shell.run(
        context.head, ["bash", "-s"], input=_batch_script(submissions, mark), user=user, check=False
    )
    job_ids: list[str] = []
    *outputs, refused = result.stdout.split(mark + "\n")
    for output in outputs:
        try:
            job_ids.append(context.scheduler.parse_submit(output))
        except ValueError:
            refused = output
            break
    return job_ids, refused, result


def _stage_and_release(
    context: ClusterContext, files: Sequence[Path], executables: Collection[Path], root: str,
    job_ids: list[str], user: str,
) -> None:
    """Held jobs: each one's directory made, the files unpacked into the first and copied into
    the others, then all released; one round trip. A failure cancels them: nothing is left
    waiting for files that never came."""
    dirs = [job_dir(root, job_id) for job_id in job_ids]
    script = ('set -e; first=$1; shift; mkdir -p -- "$first" "$@"; '
              'tar -x --no-same-owner -C "$first"; for d in "$@"; do cp -a -- "$first/." "$d/"; done')
    try:
        context.shell.run(context.head, ["bash", "-c", script, "stage", *dirs],
                          input=_tar(files, executables), user=user)
    except RemoteCommandError as err:
        _cancel_quietly(context, job_ids)
        raise EhpcError(f"could not stage the input files into {dirs[0]}: {err}") from None
    context.shell.run(context.head, context.scheduler.unhold_argv(job_ids), user=user)


def _cancel_quietly(context: ClusterContext, job_ids: Sequence[str]) -> None:
    for job_id in job_ids:
        context.shell.run(context.head, context.scheduler.cancel_argv(job_id), check=False)


# The running task's index on any of the three schedulers (PBS jobs run under Slurm here).
TASK_ID = "${SLURM_ARRAY_TASK_ID:-${SGE_TASK_ID:-${PBS_ARRAYID:-}}}"


def one_per_task(spec: JobSpec, commands: Sequence[list[str]]) -> JobSpec:
    """One array job whose task i runs commands[i-1] (each a shell line, or an exact argv): a
    batch of N jobs at the scheduler's cost of one submission. N copies of one command are the
    plain array `1-N`; different commands are picked by the task's index in the script."""
    if spec.array:
        raise ConfigError("--array and --count/--jobs-file: the batch is already an array job "
                          "(one task per command)")
    count = len(commands)
    if all(command == commands[0] for command in commands):
        return replace(spec, command=list(commands[0]), array=f"1-{count}")
    lines = [f'case "{TASK_ID}" in']
    for index, command in enumerate(commands, start=1):
        line = command[0] if len(command) == 1 else "exec " + shlex.join(command)
        lines.append(f"  {index}) eval {shlex.quote(line)} ;;")
    lines += [f'  *) echo "ehpc: task {TASK_ID} is not one of 1-{count}" >&2; exit 2 ;;', "esac"]
    return replace(spec, command=["\n".join(lines)], array=f"1-{count}")


def _check_cpus(context: ClusterContext, cpus: int) -> None:
    """More CPUs than any node has would pend forever (Grid Engine and PBS take it): refuse."""
    if cpus <= 1:
        return
    result = context.shell.run(context.head, context.scheduler.cpus_argv(), check=False)
    largest = context.scheduler.parse_cpus(result.stdout) if result.returncode == 0 else 0
    if largest and cpus > largest:
        raise ConfigError(f"--cpus {cpus}: the largest node of {context.name} has {largest} "
                          "CPUs, so the job could never start")


def _batch_script(submissions: Sequence[Submission], mark: str) -> str:
    """Each submission's argv with its script as a quoted here-document (nothing in it is
    expanded), then a mark line; the first failure stops the rest."""
    end = f"EHPC_SCRIPT_{mark.strip('-').replace('-', '_')}"
    lines = []
    for submission in submissions:
        body = submission.script if submission.script.endswith("\n") else submission.script + "\n"
        if end in body:
            raise EhpcError("a job script contains the here-document delimiter; submit it again")
        lines.append(f"{shlex.join(submission.argv)} <<'{end}'\n{body}{end}")
        lines.append(f'r=$?; echo {shlex.quote(mark)}; [ "$r" = 0 ] || exit "$r"')
    return "\n".join(lines) + "\n"


def run_direct(
    cluster: str,
    command: list[str],
    user: str,
    journal: Journal | None = None,
    settings: Settings | None = None,
) -> int:
    """Run a command on the head node now (not through the scheduler); output streams through.
    One word is a shell command line, several are an exact argv. Returns its exit code."""
    if not command:
        raise ConfigError("a command is needed (after --)")
    context = open_cluster(cluster, journal, settings)
    argv = ["bash", "-c", command[0]] if len(command) == 1 else command
    return subprocess.call(context.shell.ssh_argv(context.head, argv, user))


def job_status(
    cluster: str, job_id: str, journal: Journal | None = None, settings: Settings | None = None
) -> list[JobInfo]:
    """One JobInfo per job (or per array task), from the scheduler or its record of the past."""
    return _status(open_cluster(cluster, journal, settings), _check_job_id(job_id))


def jobs_status(
    cluster: str, job_ids: Sequence[str], journal: Journal | None = None,
    settings: Settings | None = None,
) -> dict[str, list[JobInfo]]:
    """Many jobs' tasks in one SSH round trip; a job the scheduler does not know gets []."""
    context = open_cluster(cluster, journal, settings)
    return _statuses(context, [_check_job_id(j) for j in job_ids])


def job_report(
    cluster: str, job_id: str, journal: Journal | None = None, settings: Settings | None = None
) -> list[dict[str, Any]]:
    """What a dashboard shows of a job: each task's status, plus the cluster, scheduler, owner
    and submit time (when it was submitted through ehpc), and a finished task's estimated cost
    in USD (None when a price or its time is not known)."""
    reports = job_reports(cluster, [job_id], journal, settings)
    if not reports:
        raise EhpcError(f"cluster {cluster} has no job {job_id}")
    return reports


def job_reports(
    cluster: str, job_ids: Sequence[str], journal: Journal | None = None,
    settings: Settings | None = None,
) -> list[dict[str, Any]]:
    """job_report of many jobs in one round trip (jobs the scheduler does not know left out)."""
    from .cost import job_cost, node_prices

    context = open_cluster(cluster, journal, settings)
    found = _statuses(context, [_check_job_id(j) for j in job_ids])
    prices = node_prices(context)
    reports = []
    for job_id, infos in found.items():
        row = context.journal.get_job(cluster, job_id)
        extra = {
            "cluster": cluster,
            "scheduler": context.scheduler.name,
            "owner": row.owner if row else None,
            "submitted_at": row.submitted_at if row else None,
        }
        reports += [{**asdict(info), "finished": info.finished, **extra,
                     "cost": job_cost(info, prices) if info.finished else None}
                    for info in infos]
    return reports


def _status(context: ClusterContext, job_id: str) -> list[JobInfo]:
    infos = _statuses(context, [job_id])[job_id]
    if not infos:
        raise EhpcError(f"cluster {context.name} has no job {job_id}")
    return infos


def _statuses(context: ClusterContext, job_ids: Sequence[str]) -> dict[str, list[JobInfo]]:
    """Each job's tasks from the queue, else (only when the queue has no word of it) from the
    scheduler's record of the past; [] when neither knows it. Every job in one script: one SSH
    round trip however many jobs are asked."""
    scheduler = context.scheduler
    mark = f"--ehpc-{secrets.token_hex(8)}--"
    lines = []
    for job_id in job_ids:
        lines.append(f"s=$({shlex.join(scheduler.status_argv(job_id))} 2>/dev/null); "
                     f"printf '%s\\n' \"$s\"; echo {mark}")
        past = scheduler.finished_argv(job_id)
        lines.append(f'[ -n "$s" ] || {shlex.join(past)} 2>/dev/null; echo {mark}'
                     if past else f"echo {mark}")
    output = context.shell.run(context.head, ["bash", "-s"], input="\n".join(lines) + "\n",
                               check=False).stdout
    parts = output.split(mark + "\n")
    parts += [""] * (2 * len(job_ids) - len(parts))  # a run cut short: those jobs are unknown
    return {job_id: (scheduler.parse_status(job_id, parts[2 * index])
                     or scheduler.parse_finished(job_id, parts[2 * index + 1]))
            for index, job_id in enumerate(job_ids)}


def list_jobs(
    cluster: str, journal: Journal | None = None, settings: Settings | None = None,
    since: float | None = None, every_path: bool = False,
) -> list[JobInfo]:
    """The scheduler's queue; with `since` (a time), also the jobs submitted through ehpc since
    then that have left it, with their end from the scheduler's accounting (one round trip),
    and with `every_path` the other jobs its accounting has since then (the dashboard's
    history: jobs submitted by hand or by another client too)."""
    context = open_cluster(cluster, journal, settings)
    result = context.shell.run(context.head, context.scheduler.list_argv())
    live = context.scheduler.parse_list(result.stdout)
    if since is None:
        return live
    queued = {info.job_id for info in live}
    rows = [row for row in context.journal.jobs(cluster, since) if row.job_id not in queued]
    known = queued | {row.job_id for row in rows}
    others = [i for i in _accounting(context, since) if i.job_id not in known] if every_path else []
    return job_history(context, rows) + others + live


def _accounting(context: ClusterContext, since: float) -> list[JobInfo]:
    """The finished jobs the scheduler's accounting has since a time, from every path (sbatch
    or qsub by hand, another client, the guide's wrappers)."""
    argv = context.scheduler.history_argv(since)
    if argv is None:
        return []
    result = context.shell.run(context.head, argv, check=False)
    return context.scheduler.parse_history(result.stdout, since)


def job_history(context: ClusterContext, rows: list[JobRow]) -> list[JobInfo]:
    """Each job's status, else its accounting record, else `unknown`: every job in one script."""
    found = _statuses(context, [row.job_id for row in rows]) if rows else {}
    infos: list[JobInfo] = []
    for row in rows:
        infos += found[row.job_id] or [JobInfo(row.job_id, "", row.name, "unknown", "no record left")]
    return infos


def cancel_job(
    cluster: str, job_id: str, journal: Journal | None = None, settings: Settings | None = None
) -> None:
    context = open_cluster(cluster, journal, settings)
    infos = _status(context, _check_job_id(job_id))  # unknown ids fail with one clear line
    if all(info.finished for info in infos):
        states = ", ".join(sorted({info.state for info in infos}))
        raise EhpcError(f"job {job_id} has already finished ({states}): nothing to cancel")
    context.shell.run(context.head, context.scheduler.cancel_argv(job_id))


def wait_job(
    cluster: str,
    job_id: str,
    on_change: Callable[[list[JobInfo]], None] | None = None,
    journal: Journal | None = None,
    settings: Settings | None = None,
    max_interval: float = 2.0,
) -> list[JobInfo]:
    """Follow a job until every task has finished; returns the final states. Polls quickly at
    first (short jobs are common), then every `max_interval` seconds."""
    context = open_cluster(cluster, journal, settings)
    _check_job_id(job_id)
    seen: list[tuple[str, str]] = []
    delay = 0.1
    while True:
        try:
            infos = _status(context, job_id)
        except RemoteCommandError:
            infos = []
        summary = [(i.task, i.state) for i in infos]
        if infos and summary != seen:
            seen = summary
            if on_change:
                on_change(infos)
        if infos and all(i.finished for i in infos) and _array_complete(context, job_id, infos):
            return infos
        time.sleep(delay)
        delay = min(delay * 1.5, max_interval)


def _array_complete(context: ClusterContext, job_id: str, infos: list[JobInfo]) -> bool:
    """An array is done when no task is left in the queue (pending tasks may be folded)."""
    if not any(i.task for i in infos):
        return True
    result = context.shell.run(context.head, context.scheduler.list_argv(), check=False)
    return not any(j.job_id == job_id for j in context.scheduler.parse_list(result.stdout))


def exit_code(infos: list[JobInfo]) -> int:
    """The first non-zero exit code of the job's tasks; cancelled without one counts as 1."""
    for info in infos:
        if info.exit_code:
            return info.exit_code
    return 0 if all(i.state == "completed" for i in infos) else 1


def job_logs(
    cluster: str, job_id: str, journal: Journal | None = None, settings: Settings | None = None
) -> list[tuple[str, str]]:
    """(path, contents) of each output file of the job (stdout then stderr, every task)."""
    context = open_cluster(cluster, journal, settings)
    # `2_9` (or Grid Engine's `2.9`): task 9 of array job 2
    base, _, task = _check_job_id(job_id).replace(".", "_").partition("_")
    row = context.journal.get_job(cluster, base) or _agents_job(context, base)
    if row is None:
        raise EhpcError(f"job {base} was not submitted through ehpc on {cluster}: no log paths")
    if task and not row.info.get("array"):
        raise EhpcError(f"job {base} is not an array job: it has no task {task}")
    out_glob, err_glob = context.scheduler.log_globs(base, row.info["stdout"], row.info["stderr"],
                                                     task or "*")
    user = row.info.get("user")  # read as the job's user: a link it made leads nowhere it may not
    logs = _read_logs(context.shell, context.head, (out_glob, err_glob), user, on_head=True)
    if logs:
        return logs
    # No shared directory: the files are on the nodes that ran the job.
    infos = [i for i in _statuses(context, [base])[base] if not task or i.task == task]
    nodes = sorted({name for info in infos for name in hostnames(info.nodes)} - {context.head})
    synced = bool(set(nodes) - {n.name for n in context.nodes})
    if synced:
        context = _with_agents_nodes(context)  # nodes it added since this machine last heard
    logs = _node_logs(context, nodes, (out_glob, err_glob), user)
    finished = all(info.finished for info in infos)
    if not logs and nodes and finished and not synced:  # a node rebuilt since (a new host key)?
        logs = _node_logs(_with_agents_nodes(context), nodes, (out_glob, err_glob), user)
    if not logs and nodes and finished:
        raise EhpcError(f"job {job_id} has finished, but none of its output files ({out_glob}) "
                        f"is on the head or on {', '.join(nodes)}")
    return logs


def _node_logs(context: ClusterContext, nodes: list[str], globs: tuple[str, str],
               user: str | None) -> list[tuple[str, str]]:
    shell = context.shell  # made here: its journal read may not happen in the threads
    found = in_parallel(lambda node: _read_logs(shell, node, globs, user), nodes)
    return [log for part in found for log in part]


def _with_agents_nodes(context: ClusterContext) -> ClusterContext:
    from ..agent.install import has_agent, sync_nodes

    if not has_agent(context):
        return context
    with contextlib.suppress(EhpcError, OSError, ValueError):  # unreachable: the journal's view
        sync_nodes(context)
        return open_cluster(context.name, context.journal, context.settings)
    return context


def _read_logs(shell: ClusterShell, machine: str, globs: tuple[str, str], user: str | None,
               on_head: bool = False) -> list[tuple[str, str]]:
    """(path, contents) of the files the globs match on one machine (nothing when unreachable)."""
    mark = f"--ehpc-{secrets.token_hex(8)}--"
    # The globs are expanded there, unquoted on purpose; they come from our own patterns.
    script = (
        'shopt -s nullglob; for f in $1 $2; do [ -e "$f" ] || continue; '
        'printf "%s %s\\n" "$3" "$f"; cat -- "$f"; done'
    )
    argv = ["bash", "-c", script, "logs", *globs, mark]
    if on_head:
        result = shell.run(machine, argv, user=user)
    else:
        try:
            result = shell.run(machine, argv, user=user, check=False, timeout=60)
        except RemoteCommandError:
            return []
    logs: list[tuple[str, str]] = []
    for chunk in result.stdout.split(mark + " ")[1:]:
        path, _, text = chunk.partition("\n")
        logs.append((path, text))
    return logs


def hostnames(nodes: str) -> list[str]:
    """A scheduler's node list as names: `a-node[1-3,5],b` -> a-node1 a-node2 a-node3 a-node5 b."""
    names: list[str] = []
    for prefix, ranges, rest in re.findall(r"([^,\[]+)(?:\[([^\]]*)\])?([^,]*)", nodes):
        if not ranges:
            names.append(prefix + rest)
            continue
        for part in ranges.split(","):
            low, _, high = part.partition("-")
            width = len(low)
            names += [f"{prefix}{n:0{width}d}{rest}" for n in range(int(low), int(high or low) + 1)]
    return names
