"""`ehpc cluster cost` and the cost fields of `cluster list` on GCE (the emulator, clusters made
with --provision-only): machines priced from the Cloud Billing Catalog the emulator serves
(billing.py: vCPUs x core SKU + GiB x RAM SKU of the family, region and market), a shared-core
type said to be unknown (never summed as $0), the catalog listed at the end of create and not
by `cluster cost` when the journal has every price, and the cost record gone with the cluster."""

from __future__ import annotations

import math
import time

import pytest

from tests.emulators.gce import Emulator
from tests.emulators.gce.billing import PAGE_SIZE, SKUS

from ..cost_checks import cost, ehpc, gone, lines_of, listed
from .conftest import PROJECT

E2_STANDARD_2 = 0.06701142  # 2 x 0.021811590 + 8 x 0.002923530: on-demand, us-central1
N2_STANDARD_4_SPOT = 0.047  # 4 x 0.007650 + 16 x 0.001025: Spot, us-central1
E2_STANDARD_2_EU = 0.073642  # 2 x 0.023969 + 8 x 0.003213: on-demand, europe-west1
PAGES = math.ceil(len(SKUS) / PAGE_SIZE)
EXACT = 1e-12


def create(capsys: pytest.CaptureFixture[str], name: str, size: int, *extra: str) -> None:
    code, _, err = ehpc(capsys, "cluster", "create", "--provider", "gce", "--gce-project-id",
                        PROJECT, "--name", name, "--size", str(size), "--provision-only", *extra)
    assert code == 0, err


def test_cost_from_the_catalog_by_pool_and_market_then_gone(
        gce: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    assert math.isclose(2 * 0.021811590 + 8 * 0.002923530, E2_STANDARD_2, abs_tol=EXACT)
    assert math.isclose(4 * 0.007650 + 16 * 0.001025, N2_STANDARD_4_SPOT, abs_tol=EXACT)
    assert math.isclose(2 * 0.023969 + 8 * 0.003213, E2_STANDARD_2_EU, abs_tol=EXACT)
    before = time.time()
    create(capsys, "gcost", 2, "--gce-instance-type", "n2-standard-4", "--spot")
    assert len(gce.catalog_requests()) == PAGES  # listed once at the end of create, every page
    report = cost(capsys, "gcost")
    assert {key: (line["running"], line["hourly"], line["source"], line["unknown_hours"])
            for key, line in lines_of(report).items()} == {
        ("head", "gce", "on-demand", "e2-standard-2"): (
            1, pytest.approx(E2_STANDARD_2, abs=EXACT),
            "Cloud Billing Catalog (E2 on-demand, us-central1)", 0.0),
        ("gce", "gce", "spot", "n2-standard-4"): (
            2, pytest.approx(2 * N2_STANDARD_4_SPOT, abs=EXACT),
            "Cloud Billing Catalog (N2 Spot, us-central1)", 0.0)}
    assert report["hourly"] == pytest.approx(E2_STANDARD_2 + 2 * N2_STANDARD_4_SPOT, abs=EXACT)
    assert report["unknown_hours"] == 0.0
    assert 0 < report["so_far"] <= report["hourly"] * (time.time() - before) / 3600
    assert len(gce.catalog_requests()) == PAGES  # `cluster cost`: the journal's prices

    code, out, _ = ehpc(capsys, "cluster", "cost", "gcost")
    assert code == 0 and out.splitlines()[0].endswith(", $0.1610/h now")  # 0.16101142
    summary = listed(capsys, "gcost")
    assert summary["hourly"] == pytest.approx(E2_STANDARD_2 + 2 * N2_STANDARD_4_SPOT, abs=EXACT)
    assert 0 < summary["cost"] <= summary["hourly"] * (time.time() - before) / 3600
    gone(capsys, "gcost")


def test_a_shared_core_type_is_unknown_not_zero(gce: Emulator,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    create(capsys, "gshared", 2, "--gce-instance-type", "e2-medium", "--gce-zone", "europe-west1-b")
    report = cost(capsys, "gshared")
    lines = lines_of(report)
    head = lines[("head", "gce", "on-demand", "e2-standard-2")]
    pool = lines[("gce", "gce", "on-demand", "e2-medium")]
    assert (head["hourly"], head["source"]) == (
        pytest.approx(E2_STANDARD_2_EU, abs=EXACT), "Cloud Billing Catalog (E2 on-demand, europe-west1)")
    assert (pool["running"], pool["hourly"], pool["so_far"]) == (2, None, 0.0)
    assert pool["source"] == "no price: e2-medium is shared-core (the catalog prices whole vCPUs)"
    assert pool["unknown_hours"] > 0 and report["unknown_hours"] == pool["unknown_hours"]
    assert report["hourly"] is None and report["so_far"] == head["so_far"]
    assert listed(capsys, "gshared")["hourly"] is None
    code, out, _ = ehpc(capsys, "cluster", "cost", "gshared")
    assert code == 0 and out.splitlines()[0].endswith(", unknown/h now")
    assert "machine-hours at prices not known (see FROM)" in out
    gone(capsys, "gshared")
