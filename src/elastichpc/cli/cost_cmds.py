"""ehpc cluster cost|budget: what a cluster has cost, costs per hour now, and its budget."""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING, Any

from .options import add_config_file, settings_from
from .output import print_json, print_table

if TYPE_CHECKING:
    from .registry import Commands


def register_cluster_commands(commands: Commands) -> None:
    commands.add("cluster cost", cost_args, cost_cmd,
                 "what a cluster has cost so far and costs per hour now, by pool, cloud and market",
                 description="Priced from the clouds' price APIs for the time each machine ran "
                 "(the journal's record, or the head agent's); a price a cloud does not tell is "
                 "said, not guessed. Disks and traffic are not counted.")
    commands.add("cluster budget", budget_args, budget_cmd,
                 "set (or remove: off) the dollars a running cluster may cost",
                 description="The head agent warns at 80% and at 100% does the budget action: "
                 "stop-jobs, scale-to-zero or terminate.")


def cost_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name")
    parser.add_argument("--jobs", type=int, nargs="?", const=10, default=0, metavar="N",
                        help="also the N dearest finished jobs (default 10)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    add_config_file(parser)


def budget_args(parser: argparse.ArgumentParser) -> None:
    from ..config.schema import BUDGET_ACTIONS

    parser.add_argument("name")
    parser.add_argument("amount", metavar="USD|off", help="US dollars, or off for no budget")
    parser.add_argument("--budget-action", choices=BUDGET_ACTIONS, default=None,
                        help="what the agent does when it is spent (default: as before, "
                        "else stop-jobs)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    add_config_file(parser)


def cost_cmd(args: argparse.Namespace) -> int:
    from ..orchestration.context import open_cluster
    from ..orchestration.cost import cluster_cost, jobs_cost
    from ..state.runs import format_usd, hours

    context = open_cluster(args.name, settings=settings_from(args))
    report, note = cluster_cost(context)
    jobs = jobs_cost(context)[: args.jobs] if args.jobs else []
    if args.json:
        print_json({**report.to_json(), "note": note,
                    "jobs": [{"job_id": i.job_id, "task": i.task, "name": i.name,
                              "nodes": i.nodes, "elapsed": i.elapsed, "cost": c}
                             for i, c in jobs]})
        return 0
    since = (time.strftime("%Y-%m-%d %H:%M", time.localtime(report.since))
             if report.since else "no machine has run")
    print(f"{report.cluster}: {format_usd(report.so_far)} so far (since {since}), "
          f"{format_usd(report.hourly)}/h now")
    if report.unknown_hours:
        print(f"  plus {hours(report.unknown_hours)} machine-hours at prices not known (see FROM)")
    if report.budget is not None:
        last = f" ({report.budget_events[-1]})" if report.budget_events else ""
        print(f"  budget {format_usd(report.budget)}: {100 * (report.used or 0):.0f}% used, "
              f"then {report.budget_action}{last}")
    print_table(["  POOL", "PROVIDER", "MARKET", "TYPE", "RUNNING", "SO FAR", "$/H NOW", "FROM"],
                [[f"  {line.pool}", line.provider, line.market, line.instance_type or "-",
                  line.running, format_usd(line.so_far),
                  format_usd(line.hourly) if line.running else "-", line.source]
                 for line in report.lines])
    if jobs:
        print("  dearest finished jobs")
        print_table(["    JOB", "NAME", "NODES", "TIME", "COST"],
                    [[f"    {i.job_id}" + (f"_{i.task}" if i.task else ""), i.name, i.nodes or "-",
                      i.elapsed or "-", format_usd(c)] for i, c in jobs])
    if note:
        print(f"  note: {note}")
    return 0


def budget_cmd(args: argparse.Namespace) -> int:
    from ..orchestration.budget import set_cluster_budget

    amount = _amount(args.amount)
    line = set_cluster_budget(args.name, amount, args.budget_action, settings_from(args))
    if args.json:
        print_json({"name": args.name, "budget": amount, "message": line})
    else:
        print(f"{args.name}: {line}")
    return 0


def _amount(text: str) -> Any:
    from ..config.schema import to_positive_float
    from ..errors import ConfigError

    if text.strip().lower() == "off":
        return None
    try:
        return to_positive_float(text)
    except ValueError as err:
        raise ConfigError(f"budget {text!r}: {err} (US dollars, or off)") from None
