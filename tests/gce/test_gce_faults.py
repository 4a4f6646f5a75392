"""Faults the emulator injects: rate limits are retried (without doubling anything), quota and
bad input end in one clear line, slow operations are waited for with ehpc's own polling."""

from __future__ import annotations

import time

import pytest

from elastichpc.cli.main import main
from elastichpc.providers import TAG
from tests.emulators.gce import Emulator

from .conftest import PROJECT


def create(capsys: pytest.CaptureFixture[str], name: str, *extra: str) -> tuple[int, str]:
    code = main(["cluster", "create", "--provider", "gce", "--gce-project-id", PROJECT, "--name", name,
                 "--size", "3", "--provision-only", *extra])
    return code, capsys.readouterr().err


def terminate(capsys: pytest.CaptureFixture[str], gce: Emulator, name: str) -> None:
    assert main(["cluster", "terminate", name, "--provider", "gce", "--gce-project-id", PROJECT]) == 0
    capsys.readouterr()
    assert gce.labelled(TAG, name) == []


def error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("ehpc: ")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_rate_limits_are_retried_and_nothing_doubles(gce: Emulator, capsys: pytest.CaptureFixture[str]
                                                     ) -> None:
    gce.inject(429, "rateLimitExceeded", count=3, match="instances.bulkInsert")
    gce.inject(429, "rateLimitExceeded", count=2, match="instances.list")
    gce.inject(503, "backendError", count=1, match="firewalls.insert")
    code, err = create(capsys, "rl1")
    assert code == 0, err
    bulk = gce.requests("bulkInsert")
    assert [r.status for r in bulk] == [429, 429, 429, 200]
    assert len({i["name"] for i in gce.state.instances.values()}) == 4
    assert len(gce.state.firewalls) == 2
    terminate(capsys, gce, "rl1")


def test_a_lasting_rate_limit_is_one_clear_line(gce: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    gce.inject(429, "rateLimitExceeded", count=6, match="firewalls.list")  # more than ehpc tries
    code, err = create(capsys, "rl2")
    assert code == 1
    assert error_line(err) == "ehpc: error: GCE list firewall rules: Rate Limit Exceeded"
    assert len(gce.requests("firewalls.list")) == 6  # the first try and five retries
    terminate(capsys, gce, "rl2")


def test_cpu_quota_is_one_clear_line(gce: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    gce.set_cpu_quota("us-central1", 6)  # head 2 CPUs fits, 3 workers x 2 do not
    code, err = create(capsys, "q1")
    assert code == 1
    assert error_line(err) == ("ehpc: error: GCE quota exceeded (instance creation): Quota 'CPUS' "
                               "exceeded.  Limit: 6.0 in region us-central1.")
    terminate(capsys, gce, "q1")  # the head and the firewall rules that were made go too


def test_api_quota_refusal_is_one_clear_line(gce: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    gce.inject(403, "quotaExceeded", count=1, match="instances.insert")
    code, err = create(capsys, "q2")
    assert code == 1
    assert error_line(err).startswith("ehpc: error: GCE quota exceeded (insert instance q2-head): Quota")
    terminate(capsys, gce, "q2")


@pytest.mark.parametrize(("flags", "expected"), [
    (("--gce-instance-type", "x9-huge"),
     "Invalid value for field 'resource.machineType': 'zones/us-central1-a/machineTypes/x9-huge'. "
     "Machine type with name 'x9-huge' does not exist in zone 'us-central1-a'."),
    (("--image-gce-image-id", "no-such-image", "--gce-image-project", "debian-cloud"),
     "The resource 'projects/debian-cloud/global/images/no-such-image' was not found"),
    (("--gce-zone", "mars-north1-a"), "The resource 'projects/ehpc-test/zones/mars-north1-a' was not found"),
])
def test_bad_input_is_one_clear_line(gce: Emulator, capsys: pytest.CaptureFixture[str],
                                     flags: tuple[str, ...], expected: str) -> None:
    code, err = create(capsys, "bad1", *flags)
    assert code == 1
    assert error_line(err).endswith(expected)
    terminate(capsys, gce, "bad1")


def test_slow_operations_and_latency_are_waited_for(gce: Emulator, capsys: pytest.CaptureFixture[str]
                                                    ) -> None:
    gce.set_operation_delay(0.4)
    gce.set_latency(0.02)
    started = time.monotonic()
    code, err = create(capsys, "slow1")
    assert code == 0, err
    assert time.monotonic() - started >= 0.4
    waits = [r for r in gce.requests("Operations.wait")]
    assert waits and all(r.body["status"] == "DONE" for r in waits[-3:])
    assert {i["status"] for i in gce.state.instances.values()} <= {"RUNNING", "PROVISIONING"}
    gce.set_operation_delay(0)
    terminate(capsys, gce, "slow1")
