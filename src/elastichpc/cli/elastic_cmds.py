"""ehpc cluster resize|events|agent, ehpc node reclaim: elastic clusters (the head agent's work)."""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING

from .. import __version__
from .options import add_config_file, settings_from
from .output import print_json, print_table

if TYPE_CHECKING:
    from .registry import Commands


def register_cluster_commands(commands: Commands) -> None:
    """`ehpc cluster resize|events|agent` (registered with the other `cluster` commands)."""
    commands.add("cluster resize", resize_args, resize_cmd,
                 "add or remove compute nodes of a running cluster",
                 description="--add N launches N compute nodes that join the running scheduler "
                 "and shared directory; --remove drains the named nodes (their jobs finish first, "
                 "or are requeued with --now) and removes them.")
    commands.add("cluster events", events_args, events_cmd,
                 "what happened to a cluster and when (the client's and the head agent's events)")
    commands.add("cluster agent", agent_args, agent_cmd,
                 "install the head agent again: this ehpc's version and credentials",
                 description="Uploads this client's ehpc and the credentials it signs in with now "
                 "(e.g. renewed temporary cloud credentials, which the agent holds a copy of) and "
                 "restarts the agent; also where create said the agent did not start. The "
                 "agent's node list and pinned keys are taken first and kept.")


def register(commands: Commands) -> None:
    commands.add("node reclaim", reclaim_args, reclaim_cmd,
                 "take a spot node of a local cluster away, as a cloud reclaims capacity")


def resize_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name")
    parser.add_argument("--add", type=int, default=0, metavar="N")
    parser.add_argument("--remove", nargs="+", default=[], metavar="NODE")
    parser.add_argument("--now", action="store_true", help="requeue the removed nodes' jobs")
    parser.add_argument("--json", action="store_true")
    add_config_file(parser)


def events_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name")
    parser.add_argument("--json", action="store_true")


def agent_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name")
    add_config_file(parser)


def reclaim_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name")
    parser.add_argument("node")
    parser.add_argument("--no-capacity", type=float, default=0.0, metavar="SECONDS",
                        help="the node's site then refuses spot launches this long (a failover "
                        "to the next pool follows)")


def resize_cmd(args: argparse.Namespace) -> int:
    from ..orchestration.resize import resize_cluster

    nodes = resize_cluster(args.name, args.add, args.remove, args.now, settings=settings_from(args))
    if args.json:
        print_json(nodes)
    else:
        computes = [n.name for n in nodes if n.role == "compute"]
        print(f"Cluster {args.name} has {len(computes)} compute nodes: {', '.join(computes)}")
    return 0


def events_cmd(args: argparse.Namespace) -> int:
    from ..orchestration.resize import cluster_events

    events = cluster_events(args.name)
    if args.json:
        print_json([{"at": at, "kind": kind, "message": message} for at, kind, message in events])
    else:
        print_table(["TIME", "KIND", "MESSAGE"],
                    [[time.strftime("%H:%M:%S", time.localtime(at)) if at else "-", kind, message]
                     for at, kind, message in events])
    return 0


def agent_cmd(args: argparse.Namespace) -> int:
    from ..agent.install import update_agent
    from ..orchestration.context import open_cluster
    from .output import ConsoleProgress

    context = open_cluster(args.name, settings=settings_from(args))
    with context.journal.cluster_lock(args.name, "getting its head agent again"):
        update_agent(context, ConsoleProgress())
    print(f"the head agent of {args.name} runs this ehpc ({__version__}) with these credentials")
    return 0


def reclaim_cmd(args: argparse.Namespace) -> int:
    from ..orchestration.resize import reclaim_node

    node = reclaim_node(args.name, args.node, no_capacity_s=args.no_capacity)
    print(f"{node} reclaimed: the head agent replaces it (`ehpc cluster events {args.name}`)")
    return 0
