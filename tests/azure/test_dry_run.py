"""`cluster create --dry-run` on Azure (the ARM fake logs every request): sign-in, VM sizes,
the vCPU quota and retail prices read; no PUT, POST, PATCH or DELETE reaches ARM."""

from __future__ import annotations

import json

import pytest

from elastichpc.cli.main import main
from elastichpc.state import Journal

from .conftest import AzureEmulators


def dry_run(capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, dict, str]:
    code = main(["cluster", "create", "--name", "cldry", "--size", "3", "--dry-run", "--json",
                 *extra])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def writes(azure: AzureEmulators) -> list[tuple[str, str]]:
    return [(m, p) for m, p in azure.fake.stats.requests if m != "GET"]


def test_dry_run_prices_and_checks_with_reads_only(azure: AzureEmulators, capsys,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EHPC_AZURE_PRICES_ENDPOINT", azure.fake.endpoint)
    code, plan, err = dry_run(capsys, "--azure-instance-type", "Standard_D4s_v5", "--spot",
                              "--price", "0.05")
    assert code == 0, err
    (place,) = plan["places"]
    assert (place["provider"], place["region"]) == ("azure", "westus")
    head, compute = place["groups"]
    assert (head["instance_type"], head["hourly"]) == ("Standard_D2s_v5", 0.096)
    assert (compute["instance_type"], compute["spot"], compute["hourly"]) == (
        "Standard_D4s_v5", True, 0.0384)
    assert compute["price_source"] == "Azure retail prices (Spot, Linux)"
    assert plan["hourly"] == pytest.approx(0.096 + 3 * 0.0384)
    checks = {c["what"]: c for c in plan["checks"]}
    assert all(c["ok"] for c in plan["checks"]), plan["checks"]
    assert checks["azure: vCPU quota"]["detail"] == "14 needed, 100 free of 100 in westus"
    assert checks["azure: VM size Standard_D4s_v5"]["detail"] == "4 vCPUs"
    paths = [p for _, p in azure.fake.stats.requests]
    assert "/api/retail/prices" in paths and any(p.endswith("/usages") for p in paths)
    assert writes(azure) == []
    assert Journal().get_cluster("cldry") is None


def test_prices_are_not_asked_of_the_public_list_for_another_endpoint(
        azure: AzureEmulators, capsys) -> None:
    code, plan, err = dry_run(capsys)
    assert code == 0, err
    for group in plan["places"][0]["groups"]:
        assert group["hourly"] is None
        assert group["price_source"].startswith("not asked: set EHPC_AZURE_PRICES_ENDPOINT")
    assert "/api/retail/prices" not in [p for _, p in azure.fake.stats.requests]


def test_a_quota_too_small_fails_the_plan(azure: AzureEmulators, capsys) -> None:
    azure.fake.faults.core_quota = 4
    code, _, err = dry_run(capsys)
    assert code == 1
    assert "dry run: 1 check(s) failed: azure: vCPU quota: 8 needed, 4 free of 4" in err
    assert writes(azure) == []
