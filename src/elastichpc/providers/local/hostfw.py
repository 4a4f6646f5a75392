"""The host firewall of local clusters (nftables): nodes reach the outside through this machine's
NAT, and nothing else of the host or of another cluster.

One table of ours, `inet ehpc`, replaced whole (atomically) at every local create and removed
with the last local bridge; no other table is touched. Every bridge of the local provider
(clusters, sites) is named `ehbr...`:

- forward: from a bridge out of the uplink (the default route's interface) and the replies;
  never from one bridge to another (this host passes bridged frames through this hook too, so
  traffic inside one bridge is told apart by a route lookup restricted to the input bridge);
  nothing else is forwarded out of the uplink, so turning ip_forward on opens nothing more.
- postrouting: node addresses masqueraded out of the uplink.
- input: nodes open no connection to the host itself, but for their cluster's control endpoint
  (providers/local/control.py) on their own bridge's address.

ip_forward is set only once the table is in place, and set back to what it was before the table
goes. Callers hold the provider's host-wide network lock.
"""

from __future__ import annotations

import json
from pathlib import Path

from .commands import run
from .control import FIREWALL_RULE

TABLE = "ehpc"
BRIDGES = "ehbr*"
FORWARDING = Path("/proc/sys/net/ipv4/ip_forward")
SAVED = Path("/run/ehpc/ip_forward.before")


def uplink() -> str | None:
    """The interface of the host's default route (None when the host has none)."""
    routes = json.loads(run(["ip", "-j", "route", "show", "default"], check=False) or "[]")
    return routes[0].get("dev") if routes else None


def ruleset(out: str | None) -> str:
    forward = [
        f'iifname "{BRIDGES}" oifname "{BRIDGES}" fib daddr . iif oif missing drop',
        "ct state established,related accept",
        f'iifname "{BRIDGES}" oifname != "{BRIDGES}" '
        + (f'oifname != "{out}" drop' if out else "drop"),
        f'iifname != "{BRIDGES}" oifname "{BRIDGES}" drop',
    ]
    nat = []
    if out:
        forward.append(f'oifname "{out}" iifname != "{BRIDGES}" drop')
        nat.append(f'iifname "{BRIDGES}" oifname "{out}" masquerade')
    inputs = [f'iifname "{BRIDGES}" ct state established,related accept', FIREWALL_RULE,
              f'iifname "{BRIDGES}" drop']
    chains = {
        "forward": ("type filter hook forward priority filter; policy accept;", forward),
        "postrouting": ("type nat hook postrouting priority srcnat; policy accept;", nat),
        "input": ("type filter hook input priority filter; policy accept;", inputs),
    }
    lines = [f"table inet {TABLE}", f"delete table inet {TABLE}", f"table inet {TABLE} {{"]
    for name, (hook, rules) in chains.items():
        lines += [f"  chain {name} {{", f"    {hook}", *(f"    {r}" for r in rules), "  }"]
    return "\n".join([*lines, "}"]) + "\n"


def ensure() -> None:
    """Install (or refresh) the table, then turn forwarding on."""
    run(["nft", "-f", "-"], input=ruleset(uplink()))
    if not SAVED.exists():
        SAVED.parent.mkdir(parents=True, exist_ok=True)
        SAVED.write_text(FORWARDING.read_text())
    FORWARDING.write_text("1\n")


def release(bridges_left: list[str]) -> None:
    """With no local bridge left: forwarding back as it was, then the table goes."""
    if any(name.startswith(BRIDGES.rstrip("*")) for name in bridges_left):
        return
    if SAVED.exists():
        FORWARDING.write_text(SAVED.read_text())
        SAVED.unlink()
    if f"table inet {TABLE}" in run(["nft", "list", "tables"], check=False):
        run(["nft", "delete", "table", "inet", TABLE])
