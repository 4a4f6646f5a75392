"""Creates and terminates under injected cloud faults: success rate, reruns, duplicates, leaks.

AWS (moto behind tests/emulators/aws_fault_proxy.py), GCE (our emulator) and Azure (our ARM
fake): on about RATE of the API calls (default 20%) the cloud answers with throttling (AWS
RequestLimitExceeded 503, GCE rateLimitExceeded 429, Azure TooManyRequests 429) or a server
error (AWS InternalError 500, GCE backendError 503, Azure InternalServerError 500), half each,
and about as many again are delayed (default 0.3 s). Each trial runs, in this process, `ehpc
cluster create --provision-only` (a failed one is rerun once, as the README says to),
counts the cluster's instances (more than 1 + size: a duplicate launch), then `ehpc cluster
terminate` under the same faults (a failed one is rerun without faults) and counts what is left
tagged with the cluster (a leak). The seed makes a run repeatable.
Writes bench/results/cloud_faults.json.
Usage: python bench/cloud_faults.py [TRIALS [RATE [DELAY]]]   (from the repository root)
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from aws_create import start_moto
from emulators import arm_fake, moto_image
from results_file import write_results

from tests.aws.conftest import moto_ec2, tagged_resources
from tests.emulators.aws_fault_proxy import FaultProxy
from tests.emulators.azure.azure_arm_fake import ArmFake
from tests.emulators.gce import EmulatorServer

SIZE = 3


def ehpc(*argv: str) -> tuple[int, list[str]]:
    """`ehpc ARGV` in this process: exit code and the `ehpc:` lines it printed on stderr."""
    from elastichpc.cli.main import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(list(argv))
    return code, [line for line in err.getvalue().splitlines() if line.startswith("ehpc: error")]


def trial(name: str, create: list[str], faults: Callable[[bool], None],
          instances: Callable[[str], int], leftovers: Callable[[str], list[str]]) -> dict[str, Any]:
    faults(True)
    start = time.perf_counter()
    code, errors = ehpc("cluster", "create", "--name", name, "--size", str(SIZE),
                        "--provision-only", *create)
    first = code == 0
    if not first:  # the README's advice: run the same command again
        code, more = ehpc("cluster", "create", "--name", name, "--size", str(SIZE),
                          "--provision-only", *create)
        errors += more
    create_s = time.perf_counter() - start
    made = instances(name)
    done, more = ehpc("cluster", "terminate", name)
    errors += more
    terminated_first = done == 0
    if not terminated_first:
        faults(False)
        done, more = ehpc("cluster", "terminate", name)
        errors += more
    faults(False)
    left = leftovers(name)
    return {"created_first_try": first, "created_after_rerun": code == 0,
            "instances": made, "duplicates": max(0, made - (SIZE + 1)),
            "terminated_first_try": terminated_first, "leaked": left,
            "create_s": round(create_s, 2), "errors": errors}


injected: dict[str, int] = {}  # API calls the cloud answered and how many of them were faults


def aws_runs(trials: int, rate: float, delay: float) -> list[dict[str, Any]]:
    moto, url = start_moto()
    proxy = FaultProxy(url)
    os.environ.update(AWS_ENDPOINT_URL=proxy.start(), AWS_ACCESS_KEY_ID="bench",
                      AWS_SECRET_ACCESS_KEY="bench", EHPC_AWS_MAX_ATTEMPTS="8")
    ec2 = moto_ec2(url)
    create = ["--provider", "aws", "--aws-region", "eu-west-1", "--image-aws-image-id", moto_image(url),
              "--aws-instance-type", "t3.micro", "--aws-master-type", "t3.small"]
    seed = iter(range(1, 10**6))

    def faults(on: bool) -> None:
        proxy.set_chaos(rate if on else 0.0, delay, next(seed))

    def instances(name: str) -> int:
        mine = [{"Name": "tag:ehpc-cluster", "Values": [name]}]
        return sum(i["State"]["Name"] != "terminated"
                   for r in ec2.describe_instances(Filters=mine)["Reservations"] for i in r["Instances"])

    def leftovers(name: str) -> list[str]:
        return tagged_resources(ec2)  # every trial terminates: anything tagged is a leak

    try:
        runs = [trial(f"faws{n}", create, faults, instances, leftovers) for n in range(trials)]
        injected.update(calls=sum(proxy.faults.calls.values()), failed=proxy.faults.failed)
        return runs
    finally:
        proxy.stop()
        moto.terminate()
        moto.wait()


def gce_runs(trials: int, rate: float, delay: float) -> list[dict[str, Any]]:
    from elastichpc.providers import TAG

    server = EmulatorServer().start()
    emulator = server.emulator
    os.environ["EHPC_GCE_ENDPOINT"] = server.url
    create = ["--provider", "gce", "--gce-project-id", "bench"]
    seed = iter(range(1, 10**6))

    def faults(on: bool) -> None:
        emulator.set_chaos(rate if on else 0.0, delay, next(seed))

    def instances(name: str) -> int:
        return sum("/instances/" in link for link in emulator.labelled(TAG, name))

    def leftovers(name: str) -> list[str]:
        firewalls = [f"firewall {n}" for (_, n) in emulator.state.firewalls if name in n]
        return emulator.labelled(TAG, name) + firewalls

    try:
        runs = [trial(f"fgce{n}", create, faults, instances, leftovers) for n in range(trials)]
        answered = emulator.requests()
        injected.update(calls=len(answered), failed=sum(r.status in (429, 503) for r in answered))
        return runs
    finally:
        server.stop()


def azure_runs(trials: int, rate: float, delay: float) -> list[dict[str, Any]]:
    with arm_fake() as (fake, conf):
        os.environ.update(EHPC_CONFIG=str(conf), HTTPS_PROXY="http://127.0.0.1:9", NO_PROXY="127.0.0.1")
        try:
            return _azure_runs(fake, trials, rate, delay)
        finally:
            del os.environ["EHPC_CONFIG"]


def _azure_runs(fake: ArmFake, trials: int, rate: float, delay: float) -> list[dict[str, Any]]:
    from elastichpc.providers import TAG

    create = ["--provider", "azure"]
    seed = iter(range(1, 10**6))

    def faults(on: bool) -> None:
        with fake.lock:
            fake.faults.chaos_rate, fake.faults.chaos_latency = (rate if on else 0.0), delay
            fake.faults.rng = random.Random(next(seed))

    def tagged(name: str) -> list[dict[str, Any]]:
        return [r for r in fake.resources.values() if (r.get("tags") or {}).get(TAG) == name]

    def instances(name: str) -> int:
        return sum(r["type"].lower() == "microsoft.compute/virtualmachines" for r in tagged(name))

    def leftovers(name: str) -> list[str]:
        return [r["id"] for r in tagged(name)]

    runs = [trial(f"faz{n}", create, faults, instances, leftovers) for n in range(trials)]
    injected.update(calls=len(fake.stats.requests), failed=fake.stats.chaos_failed)
    return runs


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    count = len(runs)
    return {
        "trials": count,
        "create_success_first_try": sum(r["created_first_try"] for r in runs) / count,
        "create_success_after_one_rerun": sum(r["created_after_rerun"] for r in runs) / count,
        "terminate_success_first_try": sum(r["terminated_first_try"] for r in runs) / count,
        "duplicate_instances": sum(r["duplicates"] for r in runs),
        "leaked_resources": sum(len(r["leaked"]) for r in runs),
        "error_lines": sorted({e for r in runs for e in r["errors"]}),
        "create_s_median": sorted(r["create_s"] for r in runs)[count // 2],
    }


def main(trials: int, rate: float, delay: float) -> None:
    numbers: dict[str, Any] = {
        "benchmark": "cloud_faults", "compute_nodes": SIZE, "fault_rate": rate, "delay_s": delay,
        "emulators": "moto_server behind the fault proxy; the GCE emulator; the ARM fake "
                     "(all on loopback)",
    }
    with tempfile.TemporaryDirectory() as state:
        os.environ["EHPC_STATE_DIR"] = state
        for provider, runs in (("aws", aws_runs), ("gce", gce_runs), ("azure", azure_runs)):
            numbers[provider] = summary(runs(trials, rate, delay))
            numbers[provider]["api_calls"] = injected["calls"]
            numbers[provider]["faults_injected"] = injected["failed"]
            print(provider, json.dumps(numbers[provider]), flush=True)
    print(write_results("cloud_faults", numbers))


if __name__ == "__main__":
    args = sys.argv[1:]
    main(int(args[0]) if args else 10, float(args[1]) if len(args) > 1 else 0.2,
         float(args[2]) if len(args) > 2 else 0.3)
