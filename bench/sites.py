"""Local sites: create time of a 3-site cluster against a 1-site cluster of the same size, and
the overlay's throughput and latency between two sites against the bare bridge of one site.

Runs the real CLI (as root): `--head local/a --pool local/b:2 --pool local/c:2` against
`--size 4`, then iperf3 (10 s) and 20 TCP connects between the head and a compute node, over the
WireGuard overlay (wireguard-go here: this kernel has no WireGuard) and over the 1-site bridge.
Writes bench/results/sites.json. Usage: python bench/sites.py
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from results_file import write_results

EHPC = [sys.executable, "-m", "elastichpc"]


def in_node(cluster: str, node: str, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", "netns", "exec", f"ehpc.{cluster}.{cluster}-{node}", *argv],
                          capture_output=True, text=True, timeout=60, check=True)


def network(cluster: str, server: str) -> dict[str, float]:
    """iperf3 from node1 to the head at `server`, and the mean time of a TCP connect to sshd."""
    iperf = subprocess.Popen(["ip", "netns", "exec", f"ehpc.{cluster}.{cluster}-head",
                              "iperf3", "-s", "-1", "-B", server])
    time.sleep(0.5)
    try:
        out = in_node(cluster, "node1", "iperf3", "-c", server, "-t", "10", "-J").stdout
    finally:
        iperf.wait(timeout=30)
    bits = json.loads(out)["end"]["sum_received"]["bits_per_second"]
    probe = ("import socket,time\nt=time.perf_counter()\nfor _ in range(20):\n"
             f" socket.create_connection(('{server}',22),3).close()\n"
             "print((time.perf_counter()-t)/20*1000)")
    connect_ms = float(in_node(cluster, "node1", sys.executable, "-c", probe).stdout)
    return {"throughput_mbit_s": round(bits / 1e6, 1), "tcp_connect_ms": round(connect_ms, 3)}


def main() -> None:
    results = {}
    with tempfile.TemporaryDirectory() as state:
        env = {**os.environ, "EHPC_STATE_DIR": state}
        root = f"/srv/ehpc-test/pl-bench-{os.getpid()}"
        shapes = {"plb1": ["--size", "4"],
                  "plb3": ["--head", "local/a", "--pool", "local/b:2", "--pool", "local/c:2"]}
        try:
            for name, shape in shapes.items():
                start = time.perf_counter()
                subprocess.run([*EHPC, "cluster", "create", "--name", name, *shape,
                                "--local-root-dir", root], env=env, check=True,
                               capture_output=True, timeout=600)
                seconds = time.perf_counter() - start
                nodes = json.loads(subprocess.run([*EHPC, "nodes", "list", name, "--json"], env=env,
                                                  capture_output=True, text=True, check=True).stdout)
                head = next(n for n in nodes if n["role"] == "head")
                server = head["overlay_address"] or head["address"]
                results[name] = {"sites": len({n["region"] for n in nodes}), "compute_nodes": 4,
                                 "create_s": round(seconds, 2),
                                 "path": "overlay (wireguard-go)" if head["overlay_address"] else "bridge",
                                 **network(name, server)}
                print(name, results[name])
        finally:
            for name in shapes:
                subprocess.run([*EHPC, "cluster", "terminate", name], env=env, capture_output=True)
            shutil.rmtree(root, ignore_errors=True)
    print(write_results("sites", {"one_site": results["plb1"], "three_sites": results["plb3"]}))


if __name__ == "__main__":
    main()
