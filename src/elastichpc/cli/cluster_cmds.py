"""ehpc cluster create|list|status|terminate|install, ehpc nodes list, ehpc ssh (the `cluster`
group's other commands: elastic_cmds, cost_cmds)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from .options import add_access_flags, add_config_file, add_settings_flags, settings_from
from .output import ConsoleProgress, human_age, print_json, print_table

if TYPE_CHECKING:
    from .registry import Commands


def register(commands: Commands) -> None:
    commands.add("cluster create", create_args, create_cmd,
                 "create a cluster (head + compute nodes + scheduler)",
                 description="Create a cluster from cluster.conf and/or flags (flags win).")
    commands.add("cluster list", json_flag, list_cmd,
                 "every cluster: provider, size, state, age (and why, when not running)")
    commands.add("cluster status", status_args, status_cmd,
                 "one cluster: state and why, nodes, scheduler, shared file system, last "
                 "events, what to run next")
    commands.add("cluster terminate", terminate_args, terminate_cmd,
                 "remove a cluster and everything made for it")
    commands.add("cluster install", install_args, install_cmd,
                 "install Debian packages on every node, now and on every node added later",
                 description="ehpc cluster install CLUSTER PKG...: installs on every running "
                 "node (local nodes: on this machine, whose /usr they run) and records the "
                 "packages in the cluster's [SOFTWARE] PACKAGES.")
    from . import cost_cmds
    from .elastic_cmds import register_cluster_commands

    register_cluster_commands(commands)
    cost_cmds.register_cluster_commands(commands)
    commands.add("nodes list", nodes_args, nodes_cmd,
                 "name, role, address, state, scheduler state")
    commands.add("ssh", ssh_args, ssh_cmd, "a shell or one command on the head (or a node)",
                 description="ehpc ssh CLUSTER [NODE] [-- COMMAND...]: one word after -- is a "
                 "shell command line; several are run exactly as given.")


def json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def create_args(parser: argparse.ArgumentParser) -> None:
    add_settings_flags(parser)
    json_flag(parser)
    parser.add_argument(
        "--provision-only", action="store_true",
        help="only make the machines, network and firewall (no SSH, no bootstrap); "
        "a later create without it finishes the cluster",
    )
    parser.add_argument(
        "--dry-run", action="store_true",
        help="print the plan (machines, image, firewall, disks, hourly prices where the cloud "
        "tells them) and check credentials, quotas and names read-only; make nothing",
    )


def status_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name")
    parser.add_argument("--events", type=int, default=5, metavar="N",
                        help="how many of the last events to show (default 5)")
    add_access_flags(parser)
    json_flag(parser)


def terminate_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name")
    parser.add_argument("--forget", action="store_true",
                        help="when the provider cannot be reached (an endpoint that is gone), "
                        "drop the cluster from this machine anyway and say what was not verified")
    add_access_flags(parser)
    json_flag(parser)


def install_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name")
    parser.add_argument("packages", nargs="+", metavar="PKG", help="Debian package names")
    add_access_flags(parser)
    json_flag(parser)


def install_cmd(args: argparse.Namespace) -> int:
    from ..orchestration.software import install_packages

    packages = install_packages(args.name, args.packages, ConsoleProgress(),
                                settings=settings_from(args))
    if args.json:
        print_json({"name": args.name, "packages": packages})
    else:
        print(f"Cluster {args.name} has on every node (and every node added later): "
              f"{' '.join(packages)}")
    return 0


def nodes_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name")
    json_flag(parser)
    add_config_file(parser)


def ssh_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name")
    parser.add_argument("node", nargs="?", help="node name (e.g. node2 or demo-node2); default head")
    parser.add_argument("--user", help="run as this user instead of root")


def create_cmd(args: argparse.Namespace) -> int:
    from ..config import build_spec
    from ..orchestration.create import create_cluster

    spec = build_spec(settings_from(args))
    if args.dry_run:
        return _dry_run(spec, args.json)
    try:
        context = create_cluster(spec, ConsoleProgress(), provision_only=args.provision_only)
    except KeyboardInterrupt:
        print(f"\nehpc: interrupted. Run the same command again to finish {spec.name}, or "
              f"`ehpc cluster terminate {spec.name}` to remove what was made.", file=sys.stderr)
        return 130
    if args.json:
        print_json({"name": spec.name, "status": context.row.status,
                    "nodes": [n.__dict__ for n in context.nodes]})
    elif args.provision_only:
        print(f"Machines of {spec.name} are up (not bootstrapped): ehpc nodes list {spec.name}")
    else:
        print(f"Cluster {spec.name} is ready. Try: ehpc job submit {spec.name} -- hostname")
    return 0


def _dry_run(spec: Any, as_json: bool) -> int:
    from ..errors import EhpcError
    from ..orchestration.preview import preview_create

    plan = preview_create(spec)
    if as_json:
        print_json({**asdict(plan), "hourly": plan.hourly,
                    "places": [{**asdict(p), "hourly": p.hourly} for p in plan.places]})
    else:
        _print_plan(plan)
    if plan.failed:
        raise EhpcError(f"dry run: {len(plan.failed)} check(s) failed: "
                        + "; ".join(f"{c.what}: {c.detail}" for c in plan.failed))
    return 0


def _money(value: float | None) -> str:
    return "?" if value is None else f"${value:.4f}"


def _print_plan(plan: Any) -> None:
    print(f"Plan for cluster {plan.name} (dry run: nothing was made)")
    print(f"  scheduler  {plan.scheduler}, jobs run as {plan.cluster_user}")
    print(f"  shared     {plan.shared_fs}")
    for rule in plan.firewall:
        print(f"  firewall   {rule}")
    for disk in plan.disks:
        print(f"  disk       {disk}")
    for place in plan.places:
        where = f" {place.region}" if place.region else ""
        image = f", image {place.image}" if place.image else ""
        print(f"  {place.place}{where}{image}")
    print_table(
        ["  PLACE", "ROLE", "COUNT", "TYPE", "MARKET", "$/H EACH", "$/H", "PRICE FROM"],
        [[f"  {p.place}", g.role, g.count, g.instance_type or "-", g.market, _money(g.hourly),
          _money(None if g.hourly is None else g.hourly * g.count), g.price_source]
         for p in plan.places for g in p.groups],
    )
    total = plan.hourly
    print(f"  total      {_money(total)}/h" if total is not None else
          "  total      unknown: not every price is known (see PRICE FROM)")
    for check in plan.checks:
        print(f"  {'✓' if check.ok else '✗'} {check.what}: {check.detail}")
    for note in plan.notes:
        print(f"  note: {note}")


def list_cmd(args: argparse.Namespace) -> int:
    from ..orchestration.inventory import list_clusters

    clusters = list_clusters()
    if args.json:
        print_json([{**c.__dict__, "age_s": round(c.age_s)} for c in clusters])
    elif clusters:
        from ..state.runs import format_usd

        headers = ["NAME", "PROVIDER", "SIZE", "STATE", "AGE", "COST", "$/H"]
        rows = [[c.name, c.provider, c.size, c.status, human_age(c.age_s), format_usd(c.cost),
                 format_usd(c.hourly)] for c in clusters]
        if any(c.reason for c in clusters):
            headers.append("WHY")
            for row, cluster in zip(rows, clusters, strict=True):
                row.append(_short(cluster.reason) or "-")
        print_table(headers, rows)
    else:
        print("No clusters. Create one: ehpc cluster create --name demo --size 2")
    return 0


def _short(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def status_cmd(args: argparse.Namespace) -> int:
    import time

    from ..orchestration.status import cluster_status

    status = cluster_status(args.name, settings=settings_from(args), events=args.events)
    if args.json:
        print_json(status)
        return 0
    why = f" ({status.reason})" if status.reason else ""
    print(f"{status.name}: {status.state}{why}")
    print(f"  created     {human_age(status.age_s)} ago on {', '.join(status.providers)}, "
          f"{status.size} compute nodes, {status.scheduler}")
    print(f"  nodes       {_counts(status.nodes) or 'none recorded'}")
    health = status.scheduler_health
    if health.get("responding"):
        print(f"  scheduler   responding; nodes {_counts(health['nodes']) or 'none'}")
    else:
        print(f"  scheduler   not responding: {health.get('error', '?')}")
    shared = status.shared_fs
    where = f"{shared['path']} ({shared['kind']})"
    if "size_gb" in shared:
        where += (f": {shared['filesystem']} from {shared['source']}, "
                  f"{shared['used_gb']} of {shared['size_gb']} GiB used")
    print(f"  shared      {where}")
    print(f"  cost        {_cost_line(status.cost)}")
    if status.events:
        print("  events")
        for event in status.events:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(event["at"]))
            print(f"    {stamp}  {event['kind']:<12} {_short(event['message'], 100)}")
    print("  next")
    for line in status.next:
        print(f"    {line}")
    return 0


def _cost_line(cost: dict[str, Any]) -> str:
    from ..state.runs import format_usd, hours

    line = f"{format_usd(cost['so_far'])} so far, {format_usd(cost['hourly'])}/h now"
    if cost["unknown_hours"]:
        line += f" (+ {hours(cost['unknown_hours'])} machine-hours unpriced)"
    if cost["budget"] is not None:
        line += (f"; budget {format_usd(cost['budget'])}, {100 * cost['used']:.0f}% used, then "
                 f"{cost['budget_action']}")
    if cost["budget_events"]:
        line += f" ({cost['budget_events'][-1]})"
    return line


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))


def terminate_cmd(args: argparse.Namespace) -> int:
    from ..errors import ClusterNotFound, EhpcError, ProviderError
    from ..orchestration.terminate import terminate_cluster

    settings = settings_from(args)
    provider = settings.get("CLUSTER", "PROVIDER") if settings.is_set("CLUSTER", "PROVIDER") else None
    try:
        removed = terminate_cluster(args.name, ConsoleProgress(), provider_name=provider,
                                    settings=settings)
    except EhpcError as err:
        if isinstance(err, ProviderError) and not args.forget:
            raise ProviderError(f"{err}; if it is gone for good, `ehpc cluster terminate "
                                f"{args.name} --forget` drops the cluster here") from None
        if not args.forget or isinstance(err, ClusterNotFound):
            raise
        from ..orchestration.terminate import forget_cluster

        said = forget_cluster(args.name, str(err))
        if args.json:
            print_json({"name": args.name, "removed": [], "forgotten": True, "detail": said})
        else:
            print(f"ehpc: warning: {said}", file=sys.stderr)
        return 0
    if args.json:
        print_json({"name": args.name, "removed": removed})
    elif removed:
        print(f"Cluster {args.name} terminated ({len(removed)} resources removed).")
    else:
        print(f"Nothing to terminate: no resources of cluster {args.name} were found.")
    return 0


def nodes_cmd(args: argparse.Namespace) -> int:
    from ..orchestration.inventory import list_nodes

    nodes = list_nodes(args.name, settings=settings_from(args))
    if args.json:
        print_json(nodes)
    else:
        print_table(
            ["NAME", "ROLE", "PROVIDER", "REGION", "MARKET", "ADDRESS", "OVERLAY", "STATE",
             "SCHEDULER"],
            [[n.name, n.role, n.provider or "-", n.region or "-", n.market, n.address,
              n.overlay_address or "-", n.state, n.scheduler_state or "-"] for n in nodes],
        )
    return 0


def ssh_cmd(args: argparse.Namespace) -> int:
    from ..orchestration.context import open_cluster

    context = open_cluster(args.name)
    node = context.node_named(args.node) if args.node else context.head
    command = args.command
    if len(command) == 1:
        command = ["bash", "-c", command[0]]
    elif not command and args.user:
        command = ["bash", "-l"]  # an interactive shell as that user
    if args.user:  # in the user's home, where `ssh USER@NODE` starts (runuser keeps the cwd)
        command = ["sh", "-c", 'cd "$HOME" || cd /; exec "$@"', "sh", *command]
    context.shell.exec_interactive(node, command or None, args.user)
    return 0  # not reached: exec replaced this process
