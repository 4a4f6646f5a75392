"""`ehpc cluster cost` and the cost fields of `cluster list` on AWS (moto behind the counting
proxy, clusters made with --provision-only): on-demand machines priced from the Price List the
proxy serves (aws_missing_services.PRICES: eu-west-1 t3.micro 0.0114, t3.medium 0.0456; no
t3.small), spot machines from moto's spot price history, a type without a price said to be
unknown (never summed as $0), prices asked once and kept in the journal, and the cost record
gone with the cluster."""

from __future__ import annotations

import time
from typing import Any

import pytest

from elastichpc.orchestration.context import open_cluster
from elastichpc.orchestration.cost import FRESH, price_runs
from elastichpc.state import Journal
from tests.emulators.aws_missing_services import PRICES

from ..cost_checks import cost, gone, lines_of, listed
from .conftest import REGION
from .helpers import create_args, ehpc

T3_MICRO = PRICES[("t3.micro", REGION)]  # 0.0114
T3_MEDIUM = PRICES[("t3.medium", REGION)]  # 0.0456
ON_DEMAND = "AWS Price List (on-demand, Linux)"
NO_T3_SMALL = f"no price: the Price List has no on-demand Linux price for t3.small in {REGION}"
EXACT = 1e-12


def test_on_demand_cost_by_pool_listed_and_gone_after_terminate(aws_env, capsys, image) -> None:
    before = time.time()
    created = ehpc(capsys, *create_args("cst", 2, image, "--aws-master-type", "t3.medium",
                                        "--provision-only"))
    assert created.code == 0, created.err
    asked = aws_env.faults.calls["GetProducts"]
    assert asked == 2  # at the end of create: once per type, not per machine

    report = cost(capsys, "cst")
    elapsed = time.time() - before
    assert report["hourly"] == pytest.approx(T3_MEDIUM + 2 * T3_MICRO, abs=EXACT)  # 0.0684
    assert report["unknown_hours"] == 0.0
    assert {key: (line["running"], line["hourly"], line["source"], line["unknown_hours"])
            for key, line in lines_of(report).items()} == {
        ("head", "aws", "on-demand", "t3.medium"): (1, T3_MEDIUM, ON_DEMAND, 0.0),
        ("aws", "aws", "on-demand", "t3.micro"): (2, pytest.approx(2 * T3_MICRO, abs=EXACT),
                                                  ON_DEMAND, 0.0)}
    # So far: the hourly price over the seconds the machines have been recorded, no more.
    assert 0 < report["so_far"] <= report["hourly"] * elapsed / 3600
    assert report["so_far"] == pytest.approx(sum(line["so_far"] for line in report["lines"]))
    assert before <= report["since"] <= time.time()
    assert (report["budget"], report["used"], report["note"], report["jobs"]) == (None, None, "", [])
    assert aws_env.faults.calls["GetProducts"] == asked  # the journal's prices: not asked again

    text = ehpc(capsys, "cluster", "cost", "cst")
    assert text.code == 0, text.err
    first, *table = text.out.splitlines()
    assert first.startswith("cst: $0.0") and first.endswith(", $0.0684/h now")
    assert "machine-hours at prices not known" not in text.out
    rows = {tuple(row.split()[:5]) for row in table[1:]}
    assert rows == {("head", "aws", "on-demand", "t3.medium", "1"),
                    ("aws", "aws", "on-demand", "t3.micro", "2")}

    summary = listed(capsys, "cst")
    assert summary["hourly"] == pytest.approx(T3_MEDIUM + 2 * T3_MICRO, abs=EXACT)
    assert 0 < summary["cost"] <= summary["hourly"] * (time.time() - before) / 3600
    gone(capsys, "cst")


def test_a_type_without_a_price_is_unknown_not_zero(aws_env, capsys, image) -> None:
    # create_args's head is t3.small, which the emulated Price List does not list.
    before = time.time()
    created = ehpc(capsys, *create_args("cnp", 1, image, "--provision-only"))
    assert created.code == 0, created.err
    report = cost(capsys, "cnp")
    lines = lines_of(report)
    head = lines[("head", "aws", "on-demand", "t3.small")]
    compute = lines[("aws", "aws", "on-demand", "t3.micro")]
    assert (head["running"], head["hourly"], head["so_far"]) == (1, None, 0.0)
    assert head["source"] == NO_T3_SMALL
    assert head["unknown_hours"] > 0 and report["unknown_hours"] == head["unknown_hours"]
    assert (compute["hourly"], compute["source"], compute["unknown_hours"]) == (T3_MICRO, ON_DEMAND, 0.0)
    # The total per hour is unknown, not the priced part alone; so far counts the priced only.
    assert report["hourly"] is None
    assert report["so_far"] == compute["so_far"] > 0

    text = ehpc(capsys, "cluster", "cost", "cnp").out
    assert text.splitlines()[0].endswith(", unknown/h now")
    assert "machine-hours at prices not known (see FROM)" in text
    assert NO_T3_SMALL in text
    summary = listed(capsys, "cnp")
    assert summary["hourly"] is None
    assert compute["so_far"] <= summary["cost"] <= T3_MICRO * (time.time() - before) / 3600

    # An unknown price is asked again once it is older than FRESH; a known on-demand one never.
    calls = aws_env.faults.calls["GetProducts"]
    context = open_cluster("cnp")
    price_runs(context, now=time.time() + FRESH / 2)
    assert aws_env.faults.calls["GetProducts"] == calls
    price_runs(context, now=time.time() + FRESH + 1)
    assert aws_env.faults.calls["GetProducts"] == calls + 1  # t3.small only
    assert cost(capsys, "cnp")["hourly"] is None  # still not listed: still unknown
    gone(capsys, "cnp")


def spot_price_now(ec2: Any, instance_type: str) -> tuple[float, str, int]:
    """(lowest price, its zone, zones) of the newest spot price of each zone, read from moto."""
    history = ec2.describe_spot_price_history(
        InstanceTypes=[instance_type],
        ProductDescriptions=["Linux/UNIX", "Linux/UNIX (Amazon VPC)"])["SpotPriceHistory"]
    newest: dict[str, tuple[Any, float]] = {}
    for item in history:
        zone, at, price = item["AvailabilityZone"], item["Timestamp"], float(item["SpotPrice"])
        if zone not in newest or at > newest[zone][0]:
            newest[zone] = (at, price)
    zone, (_, price) = min(newest.items(), key=lambda item: item[1][1])
    return price, zone, len(newest)


def test_a_spot_pool_is_priced_from_the_spot_price_history(aws_env, capsys, ec2, image) -> None:
    price, zone, zones = spot_price_now(ec2, "t3.micro")
    assert price == 0.00001 and zones == 3  # what moto answers for every type and zone
    created = ehpc(capsys, *create_args("csp", 2, image, "--aws-master-type", "t3.medium",
                                        "--spot", "--price", "0.06", "--spot-interval", "1",
                                        "--provision-only"))
    assert created.code == 0, created.err
    history = aws_env.faults.calls["DescribeSpotPriceHistory"]
    assert history >= 1
    report = cost(capsys, "csp")
    lines = lines_of(report)
    assert set(lines) == {("head", "aws", "on-demand", "t3.medium"), ("aws", "aws", "spot", "t3.micro")}
    spot = lines[("aws", "aws", "spot", "t3.micro")]
    assert (spot["running"], spot["hourly"]) == (2, 2 * price)  # not the 0.06 cap, not on-demand
    assert spot["source"] == f"spot price now in {zone} (lowest of {zones} zones)"
    assert lines[("head", "aws", "on-demand", "t3.medium")]["hourly"] == T3_MEDIUM
    assert report["hourly"] == pytest.approx(T3_MEDIUM + 2 * price, abs=EXACT)
    assert report["unknown_hours"] == 0.0

    # A spot price moves: asked again once older than FRESH (the on-demand one is not).
    products = aws_env.faults.calls["GetProducts"]
    context = open_cluster("csp")
    price_runs(context, now=time.time() + FRESH + 1)
    assert aws_env.faults.calls["DescribeSpotPriceHistory"] > history
    assert aws_env.faults.calls["GetProducts"] == products
    assert len([p for p in Journal().prices() if p.market == "spot"]) == 2
    assert cost(capsys, "csp")["hourly"] == pytest.approx(T3_MEDIUM + 2 * price, abs=EXACT)
    assert listed(capsys, "csp")["hourly"] == pytest.approx(T3_MEDIUM + 2 * price, abs=EXACT)
    gone(capsys, "csp")
