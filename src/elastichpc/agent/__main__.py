"""`ehpc-agent` on the head (the launcher runs `python -m elastichpc.agent`).

run                      the daemon
seed DIR                 take what the client uploaded (install)
check CLIENT_PYTHON      whether the agent can run here: its libraries import and its providers
                         are ready (install; CLIENT_PYTHON: the version the libraries came from)
stop                     stop the daemon for good (terminate: it must not replace the nodes
                         that are being removed)
nodes | events           JSON for the client (nodes: with their pinned host keys and the
                         overlay keys nodes made themselves)
resize --add N | --remove NODE... [--now] [--request ID]   change the nodes under the
                         membership lock (an ID already done: only print the nodes)
runs                     JSON: the cluster's runs, the prices seen (priced first) and what the
                         budget's keeper said
budget USD|off [--action A]   a new budget (JSON: the line that says so)
web issue | list | revoke ID  the dashboard's grants (issue: the request as JSON on standard
                         input, hashes only; JSON out, never a hash)
jobs add | get ID        the journal's record of jobs submitted elsewhere (add: JSON rows on
                         standard input), or of one job (JSON, null when unknown)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..errors import EhpcError
from ..orchestration.context import ClusterContext
from . import AGENT_DIR


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ehpc-agent")
    parser.add_argument("--dir", default=AGENT_DIR)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run")
    sub.add_parser("seed").add_argument("incoming")
    sub.add_parser("check").add_argument("client_python")
    sub.add_parser("stop")
    sub.add_parser("nodes")
    sub.add_parser("events")
    resize = sub.add_parser("resize")
    resize.add_argument("--add", type=int, default=0)
    resize.add_argument("--remove", nargs="*", default=[])
    resize.add_argument("--now", action="store_true")
    resize.add_argument("--request", default="", help="done once: a repeat only prints the nodes")
    sub.add_parser("runs")
    budget = sub.add_parser("budget")
    budget.add_argument("amount")
    budget.add_argument("--action", default=None)
    web = sub.add_parser("web")
    web.add_argument("action", choices=["issue", "list", "revoke"])
    web.add_argument("grant", nargs="?", default="")
    jobs = sub.add_parser("jobs")
    jobs.add_argument("action", choices=["add", "get"])
    jobs.add_argument("job_id", nargs="?", default="")
    args = parser.parse_args(argv)
    directory = Path(args.dir)
    try:
        return _run(args, directory)
    except EhpcError as err:
        print(f"ehpc-agent: error: {err}", file=sys.stderr)
        return err.exit_code


def _run(args: argparse.Namespace, directory: Path) -> int:
    from .head import membership_lock, open_head, seed

    if args.command == "seed":
        seed(directory, Path(args.incoming))
        return 0
    if args.command == "run":
        from .daemon import Agent

        Agent(directory).run()
        return 0
    if args.command == "stop":
        stop(directory)
        print("null")
        return 0
    if args.command == "web":
        print(json.dumps(grant_command(directory, args.action, args.grant)))
        return 0
    context = open_head(directory)
    if args.command == "check":
        check(context, args.client_python)
    elif args.command == "nodes":  # with the host key each node is pinned to here
        print(json.dumps([{**asdict(n), "host_key": context.keys.known_host_key(n.name),
                           "overlay_key": context.keys.own_overlay_key(n.name),
                           "overlay_psk": context.keys.psk_shared(n.name)}
                          for n in context.journal.nodes(context.name)]))
    elif args.command == "jobs":
        print(json.dumps(jobs_command(context, args.action, args.job_id)))
    elif args.command == "events":
        print(json.dumps(context.journal.events(context.name)))
    elif args.command == "runs":
        from ..orchestration.cost import price_runs

        price_runs(context)
        print(json.dumps({"runs": [asdict(r) for r in context.journal.runs(context.name)],
                          "prices": [asdict(p) for p in context.journal.prices()],
                          "budget": context.journal.messages(context.name, "budget")}))
    elif args.command == "budget":
        from ..orchestration.budget import set_budget

        amount = None if args.amount == "off" else float(args.amount)
        print(json.dumps(set_budget(context, amount, args.action)))
    elif args.command == "resize":
        from ..cli.output import ConsoleProgress
        from ..orchestration import membership

        done = f"request {args.request} done"
        with membership_lock(directory):
            if not (args.request and done in context.journal.messages(context.name, "resize")):
                if args.add:
                    membership.add_nodes(context, membership.next_names(context, args.add),
                                         ConsoleProgress())
                if args.remove:
                    membership.remove_nodes(context, args.remove, ConsoleProgress(), now=args.now)
                if args.request:
                    context.journal.event(context.name, "resize", done)
        print(json.dumps([asdict(n) for n in context.journal.nodes(context.name)]))
    return 0


def grant_command(directory: Path, action: str, grant: str) -> Any:
    from .web.grants import Grants

    grants = Grants(directory)
    if action == "issue":
        try:
            request = json.loads(sys.stdin.read(64 * 1024))
        except ValueError:
            raise EhpcError("the grant request must be JSON") from None
        return grants.issue(request if isinstance(request, dict) else {})
    return grants.revoke(grant) if action == "revoke" else grants.listing()


def jobs_command(context: ClusterContext, action: str, job_id: str) -> Any:
    from ..state import JobRow

    if action == "get":
        row = context.journal.get_job(context.name, job_id)
        return asdict(row) if row else None
    rows = [JobRow(**row) for row in json.loads(sys.stdin.read())]
    context.journal.add_jobs([row for row in rows if row.cluster == context.name])
    return len(rows)


def stop(directory: Path) -> None:
    """The service, else the restart loop's process group (the loop, the daemon and its
    children), then the membership lock: no change of the nodes is under way after this."""
    from .head import membership_lock

    if Path("/run/systemd/system").is_dir():
        subprocess.run(["systemctl", "disable", "--now", "ehpc-agent"], capture_output=True)
    supervisor = directory / "supervisor.pid"
    if supervisor.exists():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.killpg(int(supervisor.read_text()), signal.SIGKILL)
    with membership_lock(directory):
        pass


def check(context: ClusterContext, client_python: str) -> None:
    """Import what the daemon imports and make each provider check itself (its SDK and
    credentials, without changing anything), so that install says in one line why not."""
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    try:
        from .web import app  # noqa: F401  (starlette, uvicorn)

        for place in context.fleet.places:
            context.fleet.provider(place.name).check_ready(context.spec)
    except ImportError as err:
        why = (f": the head's Python is {here}, the client's {client_python}, and compiled "
               "modules load only in the version they were built for" if here != client_python
               else "")
        raise EhpcError(f"cannot import {err.name or err}{why}") from None


if __name__ == "__main__":
    sys.exit(main())
