"""ehpc dashboard NAME: the head agent's dashboard in a browser, through an SSH tunnel."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .registry import Commands


def register(commands: Commands) -> None:
    commands.add("dashboard", dashboard_args, dashboard_cmd,
                 "open the cluster's dashboard (jobs, nodes, disks, events) through an SSH tunnel",
                 description="Forwards a local port to the head agent's web server (bound to the "
                 "head's loopback only), prints a one-time login link and opens a browser when "
                 "there is one. The tunnel lasts until Ctrl-C.")


def dashboard_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name")
    parser.add_argument("--port", type=int, default=0, help="local port (default: a free one)")
    parser.add_argument("--no-browser", action="store_true", help="only print the link")
    parser.add_argument("--print-token", action="store_true",
                        help="also print the cluster's API token (for scripts: Authorization: Bearer)")


def dashboard_cmd(args: argparse.Namespace) -> int:
    import webbrowser

    from ..agent.web.tunnel import api_token, free_port, login_code, open_tunnel
    from ..errors import ConfigError
    from ..orchestration.context import open_cluster

    if not 0 <= args.port < 65536:
        raise ConfigError(f"--port {args.port} is not a port number")
    context = open_cluster(args.name)
    port = free_port(args.port)
    tunnel = open_tunnel(context, port)
    # Ended by a signal (a closed terminal, kill): close the tunnel too (the `finally` below).
    for ending in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(ending, lambda number, frame: sys.exit(128 + number))
    try:
        base = f"http://127.0.0.1:{port}"
        print(f"Dashboard of {args.name}: {base}/jobs", flush=True)
        print(f"Log in once with: {base}/login?code={login_code(context)}", flush=True)
        if args.print_token:
            print(f"API token: {api_token(context)}", flush=True)
        print("The tunnel stays open until Ctrl-C.", flush=True)
        graphical = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or sys.platform == "darwin"
        if graphical and not args.no_browser:
            webbrowser.open(f"{base}/login?code={login_code(context)}")
        tunnel.wait()
    except KeyboardInterrupt:
        pass
    finally:
        tunnel.terminate()
        tunnel.wait(timeout=10)
    return 0
