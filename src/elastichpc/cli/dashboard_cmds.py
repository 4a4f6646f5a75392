"""ehpc dashboard NAME: the head agent's dashboard in a browser, through an SSH tunnel; and who
may use it (API tokens issued, listed, revoked)."""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import signal
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .registry import Commands

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([mhd])$")


def register(commands: Commands) -> None:
    commands.add("dashboard", dashboard_args, dashboard_cmd,
                 "open the cluster's dashboard (jobs, nodes, disks, events) through an SSH tunnel",
                 description="Forwards a local port to the head agent's web server (bound to the "
                 "head's loopback only), prints a one-time login link and opens a browser when "
                 "there is one. The tunnel lasts until Ctrl-C. With --issue, --grants or --revoke: "
                 "manage the API tokens of the cluster's users instead (no tunnel).")


def hours_of(text: str) -> float:
    """`90m`, `12h`, `30d` in hours."""
    found = _DURATION.match(text)
    if not found or not math.isfinite(float(found.group(1))):
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration such as 90m, 12h or 30d")
    return float(found.group(1)) * {"m": 1 / 60, "h": 1, "d": 24}[found.group(2)]


def dashboard_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name")
    parser.add_argument("--port", type=int, default=0, help="local port (default: a free one)")
    parser.add_argument("--no-browser", action="store_true", help="only print the link")
    parser.add_argument("--role", choices=["viewer", "operator"],
                        help="what the login link (or --issue's token) may do: viewer reads only, "
                        "operator also submits and cancels jobs and drains nodes (default)")
    manage = parser.add_mutually_exclusive_group()
    manage.add_argument("--issue", metavar="USER",
                        help="print a new API token for USER (Authorization: Bearer), shown once")
    manage.add_argument("--grants", action="store_true",
                        help="list who may use the dashboard (tokens and browser logins)")
    manage.add_argument("--revoke", metavar="ID", help="end a grant (its token and sessions) now")
    parser.add_argument("--expires", type=hours_of, default=None, metavar="DURATION",
                        help="how long --issue's token lasts: 90m, 12h, 30d (default 30d)")
    parser.add_argument("--json", action="store_true", help="with --issue or --grants: JSON")


def dashboard_cmd(args: argparse.Namespace) -> int:
    from ..errors import ConfigError

    managing = bool(args.issue or args.grants or args.revoke)
    if args.expires is not None and not args.issue:
        raise ConfigError("--expires is for --issue")
    if args.json and not (args.issue or args.grants):
        raise ConfigError("--json is for --issue or --grants")
    if managing and (args.port or args.no_browser):
        raise ConfigError("--port and --no-browser open the dashboard: not with --issue, --grants, --revoke")
    if (args.grants or args.revoke) and args.role:
        raise ConfigError("--role is for the login link or --issue")
    args.role = args.role or "operator"
    if args.issue:
        from ..agent.web.grants import check_grant

        args.expires = 30 * 24 if args.expires is None else args.expires
        check_grant(args.issue, args.role, args.expires)  # before any connection
    if not 0 <= args.port < 65536:
        raise ConfigError(f"--port {args.port} is not a port number")
    return manage_cmd(args) if managing else open_cmd(args)


def manage_cmd(args: argparse.Namespace) -> int:
    from ..agent.web.access import issue_token, list_grants, revoke_grant
    from ..orchestration.context import open_cluster

    context = open_cluster(args.name)
    if args.issue:
        token, grant = issue_token(context, args.issue, args.role, args.expires)
        if args.json:
            print(json.dumps({**grant, "token": token}))
        else:
            print(f"Token of {grant['user']} ({grant['role']}, grant {grant['id']}, until "
                  f"{_when(grant['expires'])}), shown once:\n{token}")
    elif args.revoke:
        grant = revoke_grant(context, args.revoke)
        print(f"grant {grant['id']} of {grant['user']} ({grant['role']}) revoked")
    else:
        grants = list_grants(context)
        if args.json:
            print(json.dumps(grants))
        for grant in [] if args.json else grants:
            print(f"{grant['id']}  {grant['user']:<16} {grant['role']:<9} {grant['kind']:<8} "
                  f"{grant['state']:<8} until {_when(grant['expires'])}")
        if not grants and not args.json:
            print("no grants")
    return 0


def open_cmd(args: argparse.Namespace) -> int:
    import webbrowser

    from ..agent.web.access import dashboard_base, login_link
    from ..agent.web.tunnel import free_port, open_tunnel
    from ..orchestration.context import open_cluster

    context = open_cluster(args.name)
    port = free_port(args.port)
    tunnel = open_tunnel(context, port)
    # Ended by a signal (a closed terminal, kill): close the tunnel too (the `finally` below).
    for ending in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(ending, lambda number, frame: sys.exit(128 + number))
    try:
        base = dashboard_base(context, port)
        print(f"Dashboard of {args.name}: {base}/jobs", flush=True)
        print(f"Log in once with: {login_link(context, base, args.role)}", flush=True)
        print("The tunnel stays open until Ctrl-C.", flush=True)
        graphical = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or sys.platform == "darwin"
        if graphical and not args.no_browser:
            webbrowser.open(login_link(context, base, args.role))
        tunnel.wait()
    except KeyboardInterrupt:
        pass
    finally:
        tunnel.terminate()
        tunnel.wait(timeout=10)
    return 0


def _when(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(at))
