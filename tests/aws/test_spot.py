"""Spot nodes (guide 3.d) against moto: request with the price history first, the monitor
bringing in each fulfilled node, list, cancel, and resume after the CLI was killed.

moto fulfils a spot request at once and forgets cancelled ones (real AWS keeps them for hours);
the tests say where that matters."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

from elastichpc.orchestration.spot import OPEN
from elastichpc.state import Journal

from .conftest import REGION
from .helpers import create_args, ehpc


def spot_instances(ec2: Any) -> list[dict[str, Any]]:
    pages = ec2.describe_instances(Filters=[{"Name": "instance-state-name", "Values": ["running"]}])
    return [i for r in pages["Reservations"] for i in r["Instances"] if i.get("InstanceLifecycle") == "spot"]


def request_args(name: str, size: int, image: str, *extra: str) -> list[str]:
    return ["spot", "request", "--name", name, "--size", str(size), "--price", "0.06",
            "--aws-region", REGION, "--image-aws-image-id", image, "--aws-instance-type", "t3.micro",
            "--provision-only", *extra]


def test_cluster_create_spot(aws_env, capsys, ec2, image) -> None:
    result = ehpc(capsys, *create_args("sp", 3, image, "--spot", "--price", "0.06",
                                       "--spot-interval", "1", "--provision-only", "--json"))
    assert result.code == 0, result.err
    lines = result.err.splitlines()
    prices = next(i for i, line in enumerate(lines) if "spot prices of t3.micro" in line)
    request = next(i for i, line in enumerate(lines) if "requesting 3 spot nodes" in line)
    assert prices < request and any(line.strip().startswith(f"{REGION}a: $") for line in lines)
    assert sum("joined" in line for line in lines) == 3
    created = json.loads(result.out)
    assert created["status"] == "provisioned"
    nodes = {n["name"]: n for n in created["nodes"]}
    assert {n["status"] for n in nodes.values()} == {"running"}
    assert all(nodes[f"sp-node{i}"]["info"]["spot_request"].startswith("sir-") for i in (1, 2, 3))

    instances = spot_instances(ec2)
    assert len(instances) == 3
    names = {t["Value"] for i in instances for t in i["Tags"] if t["Key"] == "ehpc-node"}
    assert names == {"sp-node1", "sp-node2", "sp-node3"}
    scripts = {base64.b64decode(ec2.describe_instance_attribute(
        InstanceId=i["InstanceId"], Attribute="userData")["UserData"]["Value"]).decode() for i in instances}
    (script,) = scripts  # the compute nodes' bootstrap, the same as an on-demand create's
    assert script.startswith("#!/bin/bash\n# ElasticHPC boot script for nodes")

    listing = ehpc(capsys, "spot", "list", "sp", "--json")
    assert listing.code == 0, listing.err
    requests = json.loads(listing.out)
    assert sorted(r["node"] for r in requests) == ["sp-node1", "sp-node2", "sp-node3"]
    assert {(r["state"], r["price"]) for r in requests} == {("active", 0.06)}

    nodes_list = json.loads(ehpc(capsys, "nodes", "list", "sp", "--json").out)
    assert sorted(n["name"] for n in nodes_list if n["spot"]) == ["sp-node1", "sp-node2", "sp-node3"]
    done = ehpc(capsys, "cluster", "terminate", "sp", "--json")
    assert done.code == 0, done.err
    removed = json.loads(done.out)["removed"]
    assert len([r for r in removed if r.startswith("spot request")]) == 3
    assert len([r for r in removed if r.startswith("instance")]) == 4


def test_cancel_one_request_the_rest_still_join(aws_env, capsys, ec2, image) -> None:
    result = ehpc(capsys, *request_args("part", 3, image, "--no-wait"))
    assert result.code == 0, result.err
    rows = {row.name: row for row in Journal().nodes("part")}
    assert [rows[f"part-node{i}"].status for i in (1, 2, 3)] == [OPEN] * 3
    victim = rows["part-node2"].info["spot_request"]
    cancelled = ehpc(capsys, "spot", "cancel", victim, "--aws-region", REGION)
    assert cancelled.code == 0, cancelled.err
    assert f"Cancelled spot request {victim}" in cancelled.out
    # moto forgets a cancelled request; the monitor then counts that node as lost, and the
    # instance moto had already started still carries the cluster tag for terminate.
    resumed = ehpc(capsys, "spot", "resume", "part", "--interval", "0.1")
    assert resumed.code == 0, resumed.err
    states = {row.name: row.status for row in Journal().nodes("part")}
    assert states == {"part-head": "running", "part-node1": "running", "part-node2": "spot-cancelled",
                      "part-node3": "running"}
    assert "Cluster part: provisioned" in resumed.out
    done = ehpc(capsys, "cluster", "terminate", "part", "--json")
    assert len([r for r in json.loads(done.out)["removed"] if r.startswith("instance")]) == 4


def test_resume_after_the_cli_was_killed(aws_env, capsys, image) -> None:
    proxy = aws_env
    proxy.set_delay(60, action="DescribeSpotInstanceRequests")  # the monitor hangs in its check
    cli = [sys.executable, "-m", "elastichpc.cli.main",
           *request_args("crash", 2, image, "--spot-interval", "7")]
    process = subprocess.Popen(cli, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=os.environ.copy())
    try:
        deadline = time.monotonic() + 60
        while not any(kind == "spot-monitor" for _, kind, _ in _events("crash")):
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            assert time.monotonic() < deadline
            time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    journal = Journal()
    assert journal.get_cluster("crash").status == "creating"
    assert [r.status for r in journal.nodes("crash") if r.role == "compute"] == [OPEN, OPEN]
    proxy.set_delay(0)
    resumed = ehpc(capsys, "spot", "resume")  # every cluster that waits; interval from the journal
    assert resumed.code == 0, resumed.err
    assert "a check every 7s" in resumed.err
    assert Journal().get_cluster("crash").status == "provisioned"
    assert {r.name: r.status for r in Journal().nodes("crash")} == {
        "crash-head": "running", "crash-node1": "running", "crash-node2": "running"}
    assert ehpc(capsys, "cluster", "terminate", "crash").code == 0


def _events(cluster: str) -> list[tuple[float, str, str]]:
    journal = Journal()
    try:
        return journal.events(cluster)
    finally:
        journal.close()


def test_prices_and_missing_price(aws_env, capsys) -> None:
    prices = ehpc(capsys, "spot", "prices", "--aws-region", "EU1", "--aws-instance-type", "t3.micro",
                  "--json")
    assert prices.code == 0, prices.err
    zones = {p["zone"] for p in json.loads(prices.out)}
    assert f"{REGION}a" in zones and all(p["instance_type"] == "t3.micro" for p in json.loads(prices.out))
    no_price = ehpc(capsys, "spot", "request", "--name", "np", "--aws-region", REGION, "--provision-only")
    assert no_price.code == 2 and "spot nodes need a maximum hourly price" in no_price.err


def test_a_provider_without_spot_requests_says_so(aws_env, capsys) -> None:
    result = ehpc(capsys, "spot", "request", "--provider", "local", "--name", "lsp", "--size", "1",
                  "--price", "0.1", "--provision-only")
    assert result.code == 1
    assert result.err.splitlines()[-1] == (
        "ehpc: error: the local provider has no spot requests (the guide's spot instances are on AWS)")
    assert ehpc(capsys, "cluster", "list", "--json").out.strip() == "[]"
