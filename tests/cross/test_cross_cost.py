"""`ehpc cluster cost` of a cluster across the three clouds (moto, the GCE emulator, the ARM fake;
--provision-only): a line per pool, cloud, market and type, each priced by its own cloud's price
API as the emulators serve it, and the hourly total the sum of those prices for the machines
running. Head and pool on AWS on demand (the Price List: eu-west-1 t3.medium 0.0456, t3.micro
0.0114), two Spot VMs on GCE (the Cloud Billing Catalog: E2 Spot in us-central1, 2 x 0.006543
+ 8 x 0.000877), one Spot VM on Azure (the retail prices: Standard_D2s_v5 Spot 0.0192)."""

from __future__ import annotations

import json
import math
import time

import pytest

from tests.emulators.aws_missing_services import PRICES
from tests.emulators.azure.azure_arm_fake import RETAIL_PRICES

from .conftest import REGION, Clouds
from .test_cross_clouds import ehpc

T3_MEDIUM = PRICES[("t3.medium", REGION)]  # 0.0456
T3_MICRO = PRICES[("t3.micro", REGION)]  # 0.0114
E2_STANDARD_2_SPOT = 0.020102  # 2 vCPUs x 0.006543 + 8 GiB x 0.000877
D2S_V5_SPOT = RETAIL_PRICES["Standard_D2s_v5"][1]  # 0.0192
EXACT = 1e-12


def test_cross_cost_by_cloud_and_market(clouds: Clouds, gce, capsys,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    assert math.isclose(2 * 0.006543 + 8 * 0.000877, E2_STANDARD_2_SPOT, abs_tol=EXACT)
    monkeypatch.setenv("EHPC_AZURE_PRICES_ENDPOINT", clouds.arm.endpoint)
    conf = clouds.conf.read_text().replace("MASTER_TYPE = t3.small", "MASTER_TYPE = t3.medium")
    clouds.conf.write_text(conf)
    before = time.time()
    code, _, err = ehpc(capsys, "cluster", "create", "--name", "plcost", "--head", "aws",
                        "--pool", "aws:1", "--pool", "gce:2:spot", "--pool", "azure:1:spot",
                        "--provision-only", "--config", str(clouds.conf))
    assert code == 0, err
    code, out, err = ehpc(capsys, "cluster", "cost", "plcost", "--json", "--config", str(clouds.conf))
    assert code == 0, err
    report = json.loads(out)
    lines = {(line["pool"], line["provider"], line["market"], line["instance_type"]):
             (line["running"], line["hourly"], line["source"]) for line in report["lines"]}
    assert lines == {
        ("head", "aws", "on-demand", "t3.medium"): (1, T3_MEDIUM, "AWS Price List (on-demand, Linux)"),
        ("aws", "aws", "on-demand", "t3.micro"): (1, T3_MICRO, "AWS Price List (on-demand, Linux)"),
        ("gce", "gce", "spot", "e2-standard-2"): (
            2, pytest.approx(2 * E2_STANDARD_2_SPOT, abs=EXACT),
            "Cloud Billing Catalog (E2 Spot, us-central1)"),
        ("azure", "azure", "spot", "Standard_D2s_v5"): (1, D2S_V5_SPOT,
                                                        "Azure retail prices (Spot, Linux)")}
    total = T3_MEDIUM + T3_MICRO + 2 * E2_STANDARD_2_SPOT + D2S_V5_SPOT  # 0.116404
    assert report["hourly"] == pytest.approx(total, abs=EXACT)
    assert report["unknown_hours"] == 0.0
    assert 0 < report["so_far"] <= total * (time.time() - before) / 3600

    by_cloud: dict[str, float] = {}
    by_market: dict[str, float] = {}
    for line in report["lines"]:
        by_cloud[line["provider"]] = by_cloud.get(line["provider"], 0.0) + line["hourly"]
        by_market[line["market"]] = by_market.get(line["market"], 0.0) + line["hourly"]
    assert by_cloud == {"aws": pytest.approx(T3_MEDIUM + T3_MICRO, abs=EXACT),
                        "gce": pytest.approx(2 * E2_STANDARD_2_SPOT, abs=EXACT),
                        "azure": pytest.approx(D2S_V5_SPOT, abs=EXACT)}
    assert by_market == {"on-demand": pytest.approx(T3_MEDIUM + T3_MICRO, abs=EXACT),
                         "spot": pytest.approx(2 * E2_STANDARD_2_SPOT + D2S_V5_SPOT, abs=EXACT)}

    code, out, err = ehpc(capsys, "cluster", "cost", "plcost", "--config", str(clouds.conf))
    assert code == 0, err
    assert out.splitlines()[0].endswith(", $0.1164/h now")
    code, out, _ = ehpc(capsys, "cluster", "list", "--json")
    (summary,) = [c for c in json.loads(out) if c["name"] == "plcost"]
    assert summary["hourly"] == pytest.approx(total, abs=EXACT) and summary["cost"] > 0

    code, _, err = ehpc(capsys, "cluster", "terminate", "plcost", "--config", str(clouds.conf))
    assert code == 0, err
    code, out, err = ehpc(capsys, "cluster", "cost", "plcost", "--config", str(clouds.conf))
    (line,) = err.strip().splitlines()
    assert code != 0 and out == "" and line.startswith("ehpc: error: no cluster named 'plcost'")
