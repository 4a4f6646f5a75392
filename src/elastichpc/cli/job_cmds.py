"""ehpc job submit|status|list|logs|cancel."""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from .options import add_config_file
from .output import print_json, print_table

if TYPE_CHECKING:
    from .registry import Commands

JOBS_FILE_LIMIT = 64 << 20  # a million command lines
_MEM = re.compile(r"^(\d+)\s*([KMGT]?)B?$", re.IGNORECASE)
_MEM_MB = {"K": 1 / 1024, "": 1, "M": 1, "G": 1024, "T": 1024 * 1024}


def memory_mb(text: str) -> int:
    match = _MEM.match(text.strip())
    if not match:
        raise ConfigError(f"--mem {text!r}: expected a size such as 512M or 2G")
    return max(1, int(int(match.group(1)) * _MEM_MB[match.group(2).upper()]))


def walltime_min(text: str) -> int:
    """Minutes, or [D-]HH:MM[:SS] as the schedulers write it."""
    match = re.match(r"^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$", text.strip())
    if not match:
        raise ConfigError(f"--time {text!r}: expected minutes or HH:MM:SS")
    days, first, second, third = match.groups()
    if second is None:
        minutes = int(first)
    else:
        minutes = int(first) * 60 + int(second) + (1 if third and int(third) else 0)
    return int(days or 0) * 1440 + minutes


def _cluster_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="cluster")
    add_config_file(parser)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def register(commands: Commands) -> None:
    commands.add(
        "job submit", submit_args, submit_cmd, "submit a job (or run a command on the head)",
        description="ehpc job submit CLUSTER [options] -- COMMAND... | --command 'LINE'. One "
        "word after -- (or --command) is a shell command line run by bash in the job; several "
        "words are run exactly as given. A local script path (./task.sh) is copied to the "
        "cluster and run there.",
    )
    commands.add("job status", status_args, status_cmd,
                 "jobs' states (every array task), many jobs in one round trip")
    for action, helptext, handler in (
        ("logs", "a job's stdout and stderr", logs_cmd),
        ("cancel", "cancel a job", cancel_cmd),
        ("wait", "follow a job to its end and exit with its exit code", wait_cmd),
    ):
        commands.add(f"job {action}", job_args, handler, helptext)
    commands.add("job list", list_args, list_cmd,
                 "jobs in the queue (--all, --since: finished ones too)")


def status_args(parser: argparse.ArgumentParser) -> None:
    _cluster_arg(parser)
    parser.add_argument("job_ids", nargs="+", metavar="JOB_ID")


def list_args(parser: argparse.ArgumentParser) -> None:
    _cluster_arg(parser)
    parser.add_argument("--local", action="store_true",
                        help="the jobs submitted through ehpc, from the journal only (no SSH)")
    parser.add_argument("--all", action="store_true",
                        help="also every finished job submitted through ehpc")
    parser.add_argument("--since", metavar="AGE",
                        help="also the finished jobs submitted in the last AGE (30m, 6h, 2d)")


def job_args(parser: argparse.ArgumentParser) -> None:
    _cluster_arg(parser)
    parser.add_argument("job_id")


def submit_args(submit: argparse.ArgumentParser) -> None:
    _cluster_arg(submit)
    submit.add_argument("--command", dest="command_line", metavar="LINE",
                        help="a shell command line (the guide's --command)")
    submit.add_argument("--job-name", "--jobname", dest="job_name", default="job")
    submit.add_argument("--cpus", type=int, default=1, help="CPUs per task")
    submit.add_argument("--mem", help="memory per task, e.g. 512M or 2G")
    submit.add_argument("--time", help="wall time: minutes or HH:MM:SS")
    submit.add_argument("--array", help="array task ids, e.g. 1-20 or 1-100%%10")
    submit.add_argument("--workdir", help="working directory (default: SHARED_DIR/jobs)")
    submit.add_argument("--env", action="append", default=[], metavar="KEY=VALUE")
    submit.add_argument("--input-files", action="append", default=[], metavar="FILE[,FILE]",
                        help="local files copied into the working directory first")
    submit.add_argument("--stdout", help="stdout path pattern on the cluster")
    submit.add_argument("--stderr", help="stderr path pattern on the cluster")
    submit.add_argument("--owner", help="system: run directly on the head as root; NAME with "
                        "--direct: directly as that user; anything else: a scheduler job")
    submit.add_argument("--direct", action="store_true",
                        help="run directly on the head as --owner (not through the scheduler)")
    submit.add_argument("--wait", action="store_true",
                        help="follow the job to its end, print its output, exit with its code")
    submit.add_argument("--monitor", action="store_true", help="like --wait (the guide's name)")
    submit.add_argument("--count", type=int, default=1, metavar="N",
                        help="N copies of the job: one array job of N tasks")
    submit.add_argument("--jobs-file", metavar="FILE",
                        help="one job per line (a shell command line; '-' reads standard input), "
                        "all with the other options: one array job whose task i runs line i")


def _settings(args: argparse.Namespace) -> Any:
    from ..config import load_settings

    return load_settings(args.config) if args.config else None


def submit_cmd(args: argparse.Namespace) -> int:
    from ..orchestration.context import open_cluster
    from ..orchestration.jobs import (
        one_per_task,
        resolve_owner,
        run_direct,
        staged_paths,
        submit_jobs,
    )
    from ..schedulers import JobSpec
    from ..state import Journal

    if args.command_line is not None and args.command:
        raise ConfigError("give the command either with --command or after --, not both")
    command = [args.command_line] if args.command_line is not None else args.command
    commands = _batch_commands(args, command)
    settings, journal = _settings(args), Journal()
    direct, user = resolve_owner(open_cluster(args.name, journal, settings), args.owner, args.direct)
    if direct:
        if len(commands) > 1:
            raise ConfigError(f"owner {args.owner} runs one command on the head, not a batch")
        return run_direct(args.name, commands[0], user, journal, settings)
    env = {}
    for item in args.env:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--env {item!r}: expected KEY=VALUE")
        env[key] = value
    spec = JobSpec(
        command=commands[0],
        name=args.job_name,
        cpus=args.cpus,
        memory_mb=memory_mb(args.mem) if args.mem else None,
        walltime_min=walltime_min(args.time) if args.time else None,
        array=args.array,
        workdir=args.workdir,
        env=env,
        stdout=args.stdout,
        stderr=args.stderr,
    )
    if len(commands) > 1:
        spec = one_per_task(spec, commands)
    files = [Path(f) for item in args.input_files for f in item.split(",") if f]
    for path, name in staged_paths(command, files).items():
        print(f"ehpc: note: {path} is staged into the job's working directory: the command "
              f"reads that copy ({name})", file=sys.stderr)
    (job_id,) = submit_jobs(args.name, [spec], input_files=files, owner=args.owner,
                            journal=journal, settings=settings)
    row = journal.get_job(args.name, job_id)
    workdir = row.info["workdir"] if row else None
    waiting = args.wait or args.monitor
    if waiting:
        print(f"Submitted job {job_id}", file=sys.stderr)
    if not args.json:
        print(f"ehpc: job {job_id} works in {workdir} (ehpc cp {args.name}:{job_id}/FILE . "
              "fetches from it)", file=sys.stderr)
    if len(commands) > 1 and not waiting:
        _print_tasks(job_id, commands, args.json, shown=args.jobs_file is not None)
        return 0
    if waiting:
        args.job_id = job_id
        return wait_cmd(args)
    if args.json:
        print_json({"job_id": job_id, "workdir": workdir})
    else:
        print(job_id)
    return 0


def _batch_commands(args: argparse.Namespace, command: list[str]) -> list[list[str]]:
    """The command of every job of this call: --count copies, or the lines of --jobs-file."""
    if args.count < 1:
        raise ConfigError(f"--count must be at least 1, got {args.count}")
    if args.jobs_file is None:
        commands = [command] * args.count
    else:
        if command or args.count != 1:
            raise ConfigError("--jobs-file gives the commands: no command after -- and no --count")
        if args.jobs_file == "-":
            text = sys.stdin.read()
        else:
            from ..config.textfile import read_regular

            data = read_regular(Path(args.jobs_file), JOBS_FILE_LIMIT, "--jobs-file")
            text = data.decode(errors="replace")
        commands = [[line] for line in text.splitlines() if line.strip() and not line.startswith("#")]
        if not commands:
            raise ConfigError(f"--jobs-file {args.jobs_file} has no jobs")
    return commands


def _print_tasks(job_id: str, commands: list[list[str]], as_json: bool, shown: bool) -> None:
    """Each command's task id (`ehpc job status|logs NAME ID_i` reach it), with its line for a
    --jobs-file."""
    tasks = [{"task_id": f"{job_id}_{index}", "command": " ".join(command)}
             for index, command in enumerate(commands, start=1)]
    if as_json:
        print_json({"job_id": job_id, "tasks": tasks})
    elif shown:
        print_table(["TASK", "COMMAND"], [[t["task_id"], t["command"]] for t in tasks])
    else:
        print("\n".join(t["task_id"] for t in tasks))


def _status_rows(infos: list[Any]) -> list[list[Any]]:
    return [
        [i.job_id + (f"_{i.task}" if i.task else ""), i.name, i.state, i.raw_state,
         "-" if i.exit_code is None else i.exit_code, i.nodes or "-"]
        for i in infos
    ]


STATUS_HEADERS = ["JOB", "NAME", "STATE", "SCHEDULER STATE", "EXIT", "NODES"]


def status_cmd(args: argparse.Namespace) -> int:
    from ..errors import EhpcError
    from ..orchestration.jobs import job_reports, jobs_status

    settings = _settings(args)
    if args.json:
        reports = job_reports(args.name, args.job_ids, settings=settings)
        print_json(reports)
        missing = [j for j in args.job_ids if not any(r["job_id"] == j for r in reports)]
    else:
        found = jobs_status(args.name, args.job_ids, settings=settings)
        infos = [info for job_id in args.job_ids
                 for info in sorted(found[job_id], key=lambda i: (len(i.task), i.task))]
        if infos:
            from ..orchestration.context import open_cluster
            from ..orchestration.cost import job_cost, node_prices
            from ..state.runs import format_usd

            prices = node_prices(open_cluster(args.name, settings=settings))
            print_table([*STATUS_HEADERS, "TIME", "COST"],
                        [[*row, info.elapsed or "-",
                          format_usd(job_cost(info, prices)) if info.finished else "-"]
                         for row, info in zip(_status_rows(infos), infos, strict=True)])
        missing = [job_id for job_id in args.job_ids if not found[job_id]]
    if missing:
        raise EhpcError(f"cluster {args.name} has no job {', '.join(missing)}")
    return 0


def list_cmd(args: argparse.Namespace) -> int:
    if args.local:
        return _list_local(args)
    from ..orchestration.jobs import list_jobs

    since = 0.0 if args.all else time.time() - age_s(args.since) if args.since else None
    infos = list_jobs(args.name, settings=_settings(args), since=since)
    if args.json:
        print_json(infos)
    elif infos:
        print_table(STATUS_HEADERS, _status_rows(infos))
    else:
        print("No jobs in the queue." if since is None else "No jobs in that time.")
    return 0


def _list_local(args: argparse.Namespace) -> int:
    from ..errors import EhpcError
    from ..state import Journal
    from .output import human_age

    journal = Journal()
    if journal.get_cluster(args.name) is None:
        raise EhpcError(f"no cluster named {args.name} (see `ehpc cluster list`)")
    rows = journal.jobs(args.name)
    if args.json:
        print_json(rows)
    elif rows:
        now = time.time()
        print_table(["JOB", "NAME", "OWNER", "ARRAY", "SUBMITTED"],
                    [[r.job_id, r.name, r.owner, r.info.get("array") or "-",
                      human_age(now - r.submitted_at) + " ago"] for r in rows])
    else:
        print(f"No jobs were submitted to {args.name} through ehpc.")
    return 0


def age_s(text: str) -> float:
    """`30m`, `6h`, `2d`, `90s` (a bare number is minutes) -> seconds."""
    match = re.match(r"^(\d+)\s*([smhd]?)$", text.strip())
    if not match:
        raise ConfigError(f"--since {text!r}: expected an age such as 30m, 6h or 2d")
    return int(match.group(1)) * {"s": 1, "": 60, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


def logs_cmd(args: argparse.Namespace) -> int:
    from ..orchestration.jobs import job_logs

    logs = job_logs(args.name, args.job_id, settings=_settings(args))
    if args.json:
        print_json([{"path": p, "text": t} for p, t in logs])
        return 0
    for path, text in logs:
        if len(logs) > 1:
            print(f"==> {path} <==")
        sys.stdout.write(text)
    return 0


def cancel_cmd(args: argparse.Namespace) -> int:
    from ..orchestration.jobs import cancel_job

    cancel_job(args.name, args.job_id, settings=_settings(args))
    if args.json:
        print_json({"job_id": args.job_id, "cancelled": True})
    else:
        print(f"Cancelled job {args.job_id}")
    return 0


def wait_cmd(args: argparse.Namespace) -> int:
    from ..orchestration.jobs import exit_code, job_logs, wait_job

    def show(infos: list[Any]) -> None:
        counts: dict[str, int] = {}
        for info in infos:
            counts[info.state] = counts.get(info.state, 0) + 1
        summary = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
        print(f"job {args.job_id}: {summary}", file=sys.stderr)

    settings = _settings(args)
    try:
        infos = wait_job(args.name, args.job_id, on_change=None if args.json else show,
                         settings=settings)
    except KeyboardInterrupt:  # the job goes on: say how to find it (a rerun would submit again)
        print(f"\nehpc: stopped following job {args.job_id}, which keeps going on {args.name}. "
              f"Follow it: ehpc job wait {args.name} {args.job_id}; stop it: "
              f"ehpc job cancel {args.name} {args.job_id}", file=sys.stderr)
        return 130
    code = exit_code(infos)
    if args.json:
        print_json({"job_id": args.job_id, "exit_code": code, "tasks": infos})
        return code
    for path, text in job_logs(args.name, args.job_id, settings=settings):
        if path.endswith(".err") and not text:
            continue
        sys.stdout.write(text)
    if code:
        print(f"job {args.job_id} failed with exit code {code}", file=sys.stderr)
    return code
