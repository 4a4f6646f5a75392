"""`cluster create --dry-run` on GCE (the emulator logs every request): zone, machine types and
the CPUS quota read, prices from the Cloud Billing Catalog the emulator serves (billing.py:
vCPUs x core SKU + GiB x RAM SKU of the family and region), no mutating request."""

from __future__ import annotations

import json
import math
import socket
from pathlib import Path

import pytest
from google.auth.credentials import AnonymousCredentials

from elastichpc.cli.main import main
from elastichpc.config import build_spec
from elastichpc.providers.gce import prices
from elastichpc.providers.gce.provider import GceProvider
from elastichpc.providers.preview import MachineGroup
from elastichpc.state import Journal
from tests.emulators.gce import Emulator, EmulatorServer
from tests.emulators.gce.billing import PAGE_SIZE, SKUS

from .conftest import PROJECT, ZONE, gce_provider
from .test_gce_credentials import service_account_file

E2_STANDARD_2 = 2 * 0.021811590 + 8 * 0.002923530  # on-demand, us-central1: 0.06701142
N2_STANDARD_4_SPOT = 4 * 0.007650 + 16 * 0.001025  # Spot, us-central1: 0.047
N2_STANDARD_4_EU = 4 * 0.034773 + 16 * 0.004661  # on-demand, europe-west1: 0.213668
PAGES = math.ceil(len(SKUS) / PAGE_SIZE)


def dry_run(capsys: pytest.CaptureFixture[str], name: str, size: int,
            *extra: str) -> tuple[int, dict, str]:
    code = main(["cluster", "create", "--provider", "gce", "--gce-project-id", PROJECT,
                 "--name", name, "--size", str(size), "--dry-run", "--json", *extra])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def writes(gce: Emulator) -> list[str]:
    """Every request, compute or catalog, that was not a read."""
    return [f"{r.http_method} {r.path}" for r in [*gce.requests(), *gce.catalog_requests()]
            if r.http_method != "GET"]


def test_dry_run_prices_from_the_catalog_with_reads_only(gce: Emulator,
                                                         capsys: pytest.CaptureFixture[str],
                                                         state_dir: Path) -> None:
    code, plan, err = dry_run(capsys, "cldry", 3, "--gce-instance-type", "n2-standard-4", "--spot")
    assert code == 0, err
    (place,) = plan["places"]
    assert (place["provider"], place["region"]) == ("gce", ZONE)
    head, compute = place["groups"]
    assert (head["instance_type"], head["spot"], head["hourly"]) == (
        "e2-standard-2", False, 0.06701142)
    assert head["hourly"] == pytest.approx(E2_STANDARD_2)
    assert head["price_source"] == "Cloud Billing Catalog (E2 on-demand, us-central1)"
    assert (compute["instance_type"], compute["count"], compute["spot"], compute["hourly"]) == (
        "n2-standard-4", 3, True, 0.047)
    assert compute["hourly"] == pytest.approx(N2_STANDARD_4_SPOT)
    assert compute["price_source"] == "Cloud Billing Catalog (N2 Spot, us-central1)"
    assert plan["hourly"] == place["hourly"] == pytest.approx(0.06701142 + 3 * 0.047)
    checks = {c["what"]: c for c in plan["checks"]}
    assert all(c["ok"] for c in plan["checks"]), plan["checks"]
    assert checks["gce: machine type n2-standard-4"]["detail"] == "4 vCPUs, 16384 MB"
    assert checks["gce: CPUS quota"]["detail"] == "14 needed, 1000 free of 1000 in us-central1"
    methods = [r.method_id for r in gce.requests()]
    assert {"compute.zones.get", "compute.machineTypes.get", "compute.regions.get"} <= set(methods)
    assert methods.count("compute.machineTypes.get") == 2  # once per type: prices reuse the checks'
    catalog = gce.catalog_requests()  # every page followed, in USD
    assert [r.query.get("pageToken", "") for r in catalog] == [
        "" if n == 0 else f"page-{n * PAGE_SIZE}" for n in range(PAGES)]
    assert {(r.method_id, r.status, r.query["currencyCode"]) for r in catalog} == {
        ("cloudbilling.services.skus.list", 200, "USD")}
    assert writes(gce) == []
    assert Journal().get_cluster("cldry") is None


def test_prices_the_catalog_cannot_tell_say_why(gce: Emulator, capsys: pytest.CaptureFixture[str],
                                                state_dir: Path) -> None:
    code, plan, err = dry_run(capsys, "clunk", 2, "--gce-master-type", "c2-standard-8",
                              "--gce-instance-type", "e2-medium")
    assert code == 0, err  # an unknown price is no failed check
    head, compute = plan["places"][0]["groups"]
    assert (head["hourly"], head["price_source"]) == (
        None, "no price: the Cloud Billing Catalog lists no C2 on-demand prices in us-central1")
    assert (compute["hourly"], compute["price_source"]) == (
        None, "no price: e2-medium is shared-core (the catalog prices whole vCPUs)")
    assert plan["hourly"] is None
    assert writes(gce) == []


def test_quota_and_unknown_machine_type_fail_the_plan(gce: Emulator,
                                                      capsys: pytest.CaptureFixture[str],
                                                      state_dir: Path) -> None:
    gce.set_cpu_quota("us-central1", 8)
    code, plan, err = dry_run(capsys, "clbig", 5, "--gce-master-type", "n9-huge")
    assert code == 1
    failed = {c["what"]: c["detail"] for c in plan["checks"] if not c["ok"]}
    assert set(failed) == {"gce: machine type n9-huge", "gce: CPUS quota"}
    assert failed["gce: CPUS quota"] == "10 needed, 8 free of 8 in us-central1"
    head, compute = plan["places"][0]["groups"]
    assert head["hourly"] is None
    assert head["price_source"] == f"no price: {failed['gce: machine type n9-huge']}"
    assert compute["hourly"] == pytest.approx(E2_STANDARD_2)
    assert err.count("\n") == 1 and "dry run: 2 check(s) failed" in err
    assert writes(gce) == []


def price(provider: GceProvider, *groups: MachineGroup) -> list[MachineGroup]:
    provider.price(build_spec(provider.settings, name="clprice"), list(groups))
    return list(groups)


def test_price_lists_the_catalog_once_per_provider(gce: Emulator, state_dir: Path) -> None:
    provider = gce_provider(GCE__ZONE="europe-west1-b")
    assert isinstance(provider, GceProvider)
    on_demand, spot = price(provider, MachineGroup("compute", "n2-standard-4", 2),
                            MachineGroup("compute", "e2-standard-2", 1, spot=True))
    assert (on_demand.hourly, on_demand.price_source) == (
        pytest.approx(N2_STANDARD_4_EU), "Cloud Billing Catalog (N2 on-demand, europe-west1)")
    assert (spot.hourly, spot.price_source) == (
        None, "no price: the Cloud Billing Catalog lists no E2 Spot prices in europe-west1")
    (again,) = price(provider, MachineGroup("head", "n2-standard-4", 1))
    assert again.hourly == pytest.approx(N2_STANDARD_4_EU)
    assert len(gce.catalog_requests()) == PAGES  # listed once, for both calls
    assert writes(gce) == []


def test_a_refused_or_unreachable_catalog_is_one_line(gce: Emulator, gce_server: EmulatorServer,
                                                      state_dir: Path) -> None:
    provider = gce_provider()
    assert isinstance(provider, GceProvider)
    gce.inject(403, "forbidden", match="cloudbilling", message="The caller does not have\npermission")
    (refused,) = price(provider, MachineGroup("head", "e2-standard-2", 1))
    assert (refused.hourly, refused.price_source) == (
        None, f"no price: the Cloud Billing Catalog at {gce_server.url} refused the credentials "
              "(403: The caller does not have permission)")
    gce.inject(503, "backendError", match="cloudbilling")  # retried
    (priced,) = price(provider, MachineGroup("head", "e2-standard-2", 1))  # a failure is not kept
    assert priced.hourly == pytest.approx(E2_STANDARD_2)
    assert [r.status for r in gce.catalog_requests()][:3] == [403, 503, 200]
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    catalog = prices.Catalog(AnonymousCredentials(), closed)
    group = MachineGroup("head", "e2-standard-2", 1)
    prices.price(provider.api, catalog, [group], ZONE)
    assert (group.hourly, group.price_source) == (
        None, f"no price: cannot reach the Cloud Billing Catalog at {closed} (ConnectionError)")


def test_a_service_account_signs_the_catalog_requests(gce_server: EmulatorServer,
                                                      tmp_path: Path, state_dir: Path) -> None:
    gce = gce_server.emulator
    key = service_account_file(tmp_path / "sa.json", f"{gce_server.url}/token", gce)
    provider = gce_provider(GCE__CREDENTIALS_FILE=key)
    assert isinstance(provider, GceProvider)
    (group,) = price(provider, MachineGroup("head", "e2-standard-2", 1))
    assert group.hourly == pytest.approx(E2_STANDARD_2)
    assert {r.status for r in gce.catalog_requests()} == {200}
    assert set(gce.callers) == {"self-signed JWT of ehpc@sa-project.iam.gserviceaccount.com"}
    signed = prices._billing_credentials(provider.api.credentials)
    assert signed.scopes == ["https://www.googleapis.com/auth/compute", prices.BILLING_SCOPE]


@pytest.mark.parametrize(("compute", "billing"), [
    ("", prices.PUBLIC_BILLING),
    ("https://compute.googleapis.com", prices.PUBLIC_BILLING),
    ("compute.googleapis.com", prices.PUBLIC_BILLING),
    ("http://127.0.0.1:8085", "http://127.0.0.1:8085"),
    ("http://10.0.0.5:8085/compute/v1/", "http://10.0.0.5:8085"),
    ("emulator.example:8443", "https://emulator.example:8443"),
])
def test_the_catalog_is_asked_where_compute_is(compute: str, billing: str) -> None:
    assert prices.billing_endpoint(compute) == billing
