"""`ehpc cluster cost` and the cost fields of `cluster list` on Azure (the ARM fake, clusters made
with --provision-only): VMs priced from the retail price list the fake serves at
$EHPC_AZURE_PRICES_ENDPOINT (azure_arm_fake.RETAIL_PRICES, pay-as-you-go and Spot), a size the
list lacks said to be unknown (never summed as $0), nothing asked without the endpoint (the
fake is not the public ARM), and the cost record gone with the cluster."""

from __future__ import annotations

import time

import pytest

from elastichpc.orchestration.context import open_cluster
from elastichpc.orchestration.cost import FRESH, price_runs
from tests.emulators.azure.azure_arm_fake import RETAIL_PRICES

from ..cost_checks import cost, ehpc, gone, lines_of, listed
from .conftest import AzureEmulators

D2S_V5, D2S_V5_SPOT = RETAIL_PRICES["Standard_D2s_v5"]  # 0.096, 0.0192: the default head
D4S_V5, D4S_V5_SPOT = RETAIL_PRICES["Standard_D4s_v5"]  # 0.192, 0.0384
F4S_V2 = RETAIL_PRICES["Standard_F4s_v2"][0]  # 0.169
PAYG, SPOT = "Azure retail prices (pay-as-you-go, Linux)", "Azure retail prices (Spot, Linux)"
NOT_ASKED = "not asked: set EHPC_AZURE_PRICES_ENDPOINT for another ARM endpoint"
EXACT = 1e-12


def create(capsys: pytest.CaptureFixture[str], name: str, size: int, *extra: str) -> None:
    code, _, err = ehpc(capsys, "cluster", "create", "--name", name, "--size", str(size),
                        "--provision-only", *extra)
    assert code == 0, err


def price_requests(azure: AzureEmulators) -> int:
    return sum(1 for _, path in azure.fake.stats.requests if path == "/api/retail/prices")


def test_spot_and_pay_as_you_go_from_the_retail_prices_then_gone(
        azure: AzureEmulators, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EHPC_AZURE_PRICES_ENDPOINT", azure.fake.endpoint)
    before = time.time()
    create(capsys, "acst", 2, "--azure-instance-type", "Standard_D4s_v5", "--spot", "--price", "0.05")
    assert price_requests(azure) == 2  # once per size and market, not per VM
    report = cost(capsys, "acst")
    assert {key: (line["running"], line["hourly"], line["source"])
            for key, line in lines_of(report).items()} == {
        ("head", "azure", "on-demand", "Standard_D2s_v5"): (1, D2S_V5, PAYG),
        ("azure", "azure", "spot", "Standard_D4s_v5"): (2, 2 * D4S_V5_SPOT, SPOT)}
    assert report["hourly"] == pytest.approx(D2S_V5 + 2 * D4S_V5_SPOT, abs=EXACT)  # 0.1728
    assert report["unknown_hours"] == 0.0
    assert 0 < report["so_far"] <= report["hourly"] * (time.time() - before) / 3600
    assert price_requests(azure) == 2  # the journal's prices, the spot one still fresh
    summary = listed(capsys, "acst")
    assert summary["hourly"] == pytest.approx(D2S_V5 + 2 * D4S_V5_SPOT, abs=EXACT)
    assert 0 < summary["cost"] <= summary["hourly"] * (time.time() - before) / 3600
    gone(capsys, "acst")


def test_a_size_the_price_list_lacks_is_unknown_not_zero(
        azure: AzureEmulators, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EHPC_AZURE_PRICES_ENDPOINT", azure.fake.endpoint)
    create(capsys, "anp", 1, "--azure-instance-type", "Standard_D8s_v5")  # offered, not priced
    report = cost(capsys, "anp")
    lines = lines_of(report)
    head = lines[("head", "azure", "on-demand", "Standard_D2s_v5")]
    pool = lines[("azure", "azure", "on-demand", "Standard_D8s_v5")]
    assert (head["hourly"], head["source"], head["unknown_hours"]) == (D2S_V5, PAYG, 0.0)
    assert (pool["running"], pool["hourly"], pool["so_far"]) == (1, None, 0.0)
    assert pool["source"] == "no price: no pay-as-you-go Linux price for Standard_D8s_v5 in westus"
    assert pool["unknown_hours"] > 0 and report["unknown_hours"] == pool["unknown_hours"]
    assert report["hourly"] is None and report["so_far"] == head["so_far"]
    assert listed(capsys, "anp")["hourly"] is None
    code, out, _ = ehpc(capsys, "cluster", "cost", "anp")
    assert code == 0 and out.splitlines()[0].endswith(", unknown/h now")
    gone(capsys, "anp")


def test_without_a_prices_endpoint_nothing_is_asked_until_one_is_set(
        azure: AzureEmulators, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EHPC_AZURE_PRICES_ENDPOINT", raising=False)
    create(capsys, "ano", 1)
    report = cost(capsys, "ano")
    assert {key: (line["hourly"], line["source"]) for key, line in lines_of(report).items()} == {
        ("head", "azure", "on-demand", "Standard_D2s_v5"): (None, NOT_ASKED),
        ("azure", "azure", "on-demand", "Standard_D2s_v5"): (None, NOT_ASKED)}
    assert report["hourly"] is None and report["so_far"] == 0.0 and report["unknown_hours"] > 0
    assert price_requests(azure) == 0
    # An unknown price is asked again once older than FRESH: now the list answers.
    monkeypatch.setenv("EHPC_AZURE_PRICES_ENDPOINT", azure.fake.endpoint)
    price_runs(open_cluster("ano"), now=time.time() + FRESH + 1)
    assert price_requests(azure) == 1  # one size, one market: one question for both lines
    report = cost(capsys, "ano")
    assert [(line["hourly"], line["source"]) for line in report["lines"]] == [
        (D2S_V5, PAYG), (D2S_V5, PAYG)]
    assert report["hourly"] == pytest.approx(2 * D2S_V5, abs=EXACT)
    # The machine-hours before the price came are priced too (the first price also counts
    # from the runs' start): none are left unknown.
    assert report["unknown_hours"] == 0.0
    gone(capsys, "ano")


def test_a_size_the_sdk_names_in_its_enum_is_priced(
        azure: AzureEmulators, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK gives a size it knows as its enum: recorded as the size's own name."""
    monkeypatch.setenv("EHPC_AZURE_PRICES_ENDPOINT", azure.fake.endpoint)
    create(capsys, "aenum", 1, "--azure-instance-type", "Standard_F4s_v2")
    try:
        lines = lines_of(cost(capsys, "aenum"))
        # The head's price stands whatever the pool's size: it is not spoiled by the other group.
        assert lines[("head", "azure", "on-demand", "Standard_D2s_v5")]["source"] == PAYG
        assert lines[("azure", "azure", "on-demand", "Standard_F4s_v2")]["hourly"] == F4S_V2
    finally:
        gone(capsys, "aenum")
