"""The host firewall's life cycle (providers/local/hostfw.py), for real but out of the way: in a
network and mount namespace of its own (its own nftables, ip_forward, links and /run/ehpc), so
the host's running clusters are untouched."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

SCRIPT = r"""
set -e
mount -t tmpfs ehpc-test /run/ehpc
ip link add up0 type veth peer name up1 && ip addr add 192.0.2.9/24 dev up0
ip link set up1 up && ip link set up0 up
ip route add default via 192.0.2.1
ip link add ehbr7 type bridge
echo 0 > /proc/sys/net/ipv4/ip_forward  # a new namespace may copy the host's
"$PYTHON" - <<'PY'
from pathlib import Path
from elastichpc.providers.local import hostfw, hostnet
import subprocess

def state():
    tables = subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True).stdout
    return Path("/proc/sys/net/ipv4/ip_forward").read_text().strip(), tables

assert state() == ("0", "")
hostfw.ensure()
hostfw.ensure()  # idempotent: one table, replaced whole
forward, tables = state()
assert forward == "1" and tables.count("table inet ehpc") == 1, tables
assert 'oifname "up0" masquerade' in tables and "fib daddr . iif oif missing drop" in tables
hostfw.release([link["ifname"] for link in hostnet.links()])  # ehbr7 is still there
assert state()[0] == "1"
subprocess.run(["ip", "link", "del", "ehbr7"], check=True)
hostfw.release([link["ifname"] for link in hostnet.links()])
assert state() == ("0", ""), state()
print("ok")
PY
"""


def test_table_and_forwarding_come_with_the_first_bridge_and_go_with_the_last() -> None:
    env = {**os.environ, "PYTHON": sys.executable}
    run = subprocess.run(["unshare", "--net", "--mount", "--propagation", "private",
                          "bash", "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=60)
    if "nft" in run.stderr and "not found" in run.stderr:
        pytest.skip("nftables is not installed")
    assert run.stdout.strip() == "ok", run.stdout + run.stderr
