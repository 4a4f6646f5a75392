"""ehpc spot request|list|resume|cancel|prices: spot compute nodes (the guide's 3.d, AWS)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .options import add_access_flags, add_settings_flags, settings_from
from .output import ConsoleProgress, print_json, print_table

if TYPE_CHECKING:
    from .registry import Commands

CLOUD_SECTIONS = ("CLUSTER", "AWS", "GCE", "AZURE")


def register(commands: Commands) -> None:
    commands.add(
        "spot request", request_args, request_cmd,
        "a cluster whose compute nodes are spot instances at a maximum price",
        description="Shows the spot price history, launches the head on demand, requests one spot "
        "instance per compute node at --price, then checks every --spot-interval seconds and "
        "brings each node into the cluster as soon as its request is fulfilled.",
    )
    commands.add("spot list", list_args, list_cmd, "spot requests (of one cluster, or all of ehpc's)")
    commands.add("spot resume", resume_args, resume_cmd, "pick up the monitor of open spot requests")
    commands.add("spot cancel", cancel_args, cancel_cmd,
                 "cancel spot requests (a fulfilled one's instance keeps running, as on AWS)")
    commands.add("spot prices", prices_args, prices_cmd, "spot price history of an instance type")


def request_args(request: argparse.ArgumentParser) -> None:
    add_settings_flags(request)
    request.add_argument("--provision-only", action="store_true",
                         help="only make the machines (no SSH, no bootstrap)")
    request.add_argument("--no-wait", action="store_true",
                         help="request and return; `ehpc spot resume NAME` monitors later")
    request.add_argument("--json", action="store_true")


def list_args(listing: argparse.ArgumentParser) -> None:
    listing.add_argument("name", nargs="?", help="cluster name")
    add_access_flags(listing, accept_all=True)
    listing.add_argument("--json", action="store_true")


def resume_args(resume: argparse.ArgumentParser) -> None:
    resume.add_argument("name", nargs="?", help="cluster name (default: every cluster waiting)")
    resume.add_argument("--interval", type=float, help="seconds between checks (default: as requested)")
    resume.add_argument("--max-checks", type=int, help="stop after this many checks")
    add_settings_flags(resume, CLOUD_SECTIONS)


def cancel_args(cancel: argparse.ArgumentParser) -> None:
    cancel.add_argument("request_ids", nargs="+", metavar="REQUEST_ID")
    add_access_flags(cancel, accept_all=True)


def prices_args(prices: argparse.ArgumentParser) -> None:
    add_settings_flags(prices, CLOUD_SECTIONS)
    prices.add_argument("--json", action="store_true")


def _provider(args: argparse.Namespace) -> Any:
    """The provider of the flags/config; spot commands default to aws, the guide's spot cloud."""
    from ..orchestration.fleet import account_provider

    return account_provider(settings_from(args), "aws")


def request_cmd(args: argparse.Namespace) -> int:
    from ..config import build_spec
    from ..orchestration.spot import request_spot_cluster

    settings = settings_from(args)
    if not settings.is_set("CLUSTER", "PROVIDER"):
        settings.values[("CLUSTER", "PROVIDER")] = "aws"
    settings.values[("CLUSTER", "SPOT")] = True
    spec = build_spec(settings)
    print(f"Requesting cluster {spec.name}: 1 on-demand head + {spec.size} spot nodes on "
          f"{spec.provider}", file=sys.stderr)
    context = request_spot_cluster(spec, ConsoleProgress(), provision_only=args.provision_only,
                                   monitor=not args.no_wait)
    if args.json:
        print_json({"name": spec.name, "status": context.row.status,
                    "nodes": [n.__dict__ for n in context.nodes]})
    else:
        _print_nodes(context.nodes)
    return 0


def _print_nodes(nodes: list[Any]) -> None:
    print_table(["NODE", "STATE", "SPOT REQUEST", "INSTANCE"],
                [[n.name, n.status, n.info.get("spot_request", "-"), n.provider_id or "-"] for n in nodes])


def list_cmd(args: argparse.Namespace) -> int:
    from ..orchestration.spot import list_spot_requests
    from ..state import Journal

    journal = Journal()
    if args.name:
        from ..orchestration.context import open_cluster

        provider = open_cluster(args.name, journal, settings_from(args)).provider
    else:
        provider = _provider(args)
    rows = [{**r.__dict__, "node": node}
            for r, node in list_spot_requests(provider, journal, args.name or "")]
    if args.json:
        print_json(rows)
    elif rows:
        print_table(
            ["REQUEST", "CLUSTER", "NODE", "STATE", "STATUS", "MAX PRICE", "INSTANCE"],
            [[r["request_id"], r["cluster"] or "-", r["node"] or "-", r["state"], r["status"],
              "-" if r["price"] is None else f"${r['price']}", r["instance_id"] or "-"] for r in rows],
        )
    else:
        print("No spot requests.")
    return 0


def resume_cmd(args: argparse.Namespace) -> int:
    from ..errors import EhpcError
    from ..orchestration.spot import monitor_spot, pending_clusters
    from ..state import Journal

    journal = Journal()
    names = [args.name] if args.name else pending_clusters(journal)
    if not names:
        raise EhpcError("no cluster has open spot requests to monitor")
    for name in names:
        context = monitor_spot(name, ConsoleProgress(), journal, args.interval, settings_from(args),
                               args.max_checks)
        print(f"Cluster {name}: {context.row.status}")
        _print_nodes(context.nodes)
    return 0


def cancel_cmd(args: argparse.Namespace) -> int:
    from ..orchestration.spot import cancel_spot_requests
    from ..state import Journal

    found = cancel_spot_requests(_provider(args), Journal(), args.request_ids)
    for request_id in args.request_ids:
        instance = found[request_id].instance_id if request_id in found else ""
        kept = f" (its instance {instance} keeps running)" if instance else ""
        print(f"Cancelled spot request {request_id}{kept}.")
    return 0


def prices_cmd(args: argparse.Namespace) -> int:
    provider = _provider(args)
    instance_type = provider.settings.get(provider.name.upper(), "INSTANCE TYPE")
    prices = provider.spot_prices(instance_type)
    if args.json:
        print_json(prices)
        return 0
    print_table(
        ["ZONE", "TYPE", "PRICE/H", "SINCE"],
        [[p.zone, p.instance_type, f"${p.price:.4f}",
          datetime.fromtimestamp(p.at, UTC).strftime("%Y-%m-%d %H:%M")] for p in prices],
    )
    return 0
