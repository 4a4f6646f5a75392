"""`cluster create --dry-run` on GCE (the emulator logs every request): zone, machine types and
the CPUS quota read, no price (Compute Engine has no price API), no mutating request."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from elastichpc.cli.main import main
from elastichpc.state import Journal
from tests.emulators.gce import Emulator

from .conftest import PROJECT, ZONE


def dry_run(capsys: pytest.CaptureFixture[str], name: str, size: int,
            *extra: str) -> tuple[int, dict, str]:
    code = main(["cluster", "create", "--provider", "gce", "--gce-project-id", PROJECT,
                 "--name", name, "--size", str(size), "--dry-run", "--json", *extra])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def test_dry_run_reads_only(gce: Emulator, capsys: pytest.CaptureFixture[str],
                            state_dir: Path) -> None:
    code, plan, err = dry_run(capsys, "cldry", 3, "--gce-instance-type", "e2-standard-4")
    assert code == 0, err
    (place,) = plan["places"]
    assert (place["provider"], place["region"]) == ("gce", ZONE)
    head, compute = place["groups"]
    assert (head["instance_type"], compute["instance_type"], compute["count"]) == (
        "e2-standard-2", "e2-standard-4", 3)
    assert head["hourly"] is None and "no price API" in compute["price_source"]
    checks = {c["what"]: c for c in plan["checks"]}
    assert checks["gce: machine type e2-standard-4"]["detail"] == "4 vCPUs, 16384 MB"
    assert checks["gce: CPUS quota"]["detail"] == "14 needed, 1000 free of 1000 in us-central1"
    methods = [r.method_id for r in gce.requests()]
    assert {"compute.zones.get", "compute.machineTypes.get", "compute.regions.get"} <= set(methods)
    assert [r.http_method for r in gce.requests() if r.http_method != "GET"] == []
    assert Journal().get_cluster("cldry") is None


def test_quota_and_unknown_machine_type_fail_the_plan(gce: Emulator,
                                                      capsys: pytest.CaptureFixture[str],
                                                      state_dir: Path) -> None:
    gce.set_cpu_quota("us-central1", 8)
    code, plan, err = dry_run(capsys, "clbig", 5, "--gce-master-type", "n9-huge")
    assert code == 1
    failed = {c["what"]: c["detail"] for c in plan["checks"] if not c["ok"]}
    assert set(failed) == {"gce: machine type n9-huge", "gce: CPUS quota"}
    assert failed["gce: CPUS quota"] == "10 needed, 8 free of 8 in us-central1"
    assert err.count("\n") == 1 and "dry run: 2 check(s) failed" in err
    assert [r.http_method for r in gce.requests() if r.http_method != "GET"] == []
