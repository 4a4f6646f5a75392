"""Machine prices from the Cloud Billing Catalog API (Compute Engine's own API tells none).

`GET {billing}/v1/services/6F81-5844-456A/skus?currencyCode=USD` lists Compute Engine's SKUs,
page after page; a machine type's hourly price is its vCPUs times the core SKU plus its memory
(GiB) times the RAM SKU of its family ("E2 Instance Core running in Americas", "N1 Predefined
Instance Ram running in EMEA", "Spot Preemptible N2 Instance Core ..."), in its region
(`serviceRegions`), usageType OnDemand, or Preemptible for Spot VMs. Custom, sole-tenancy,
extended-memory and commitment SKUs are not machine-type prices and are skipped. Shared-core
types (e2-micro/small/medium, f1-micro, g1-small) and families the catalog lists nothing for
get no price, with the reason as their price source.

{billing} is https://cloudbilling.googleapis.com when the compute endpoint is Google's (none
set, or a googleapis.com host), else the compute endpoint's own scheme://host:port (the
emulator serves the catalog too). The compute clients' credentials sign the requests (a
service-account key also asks for the billing read-only scope). The catalog is listed once per
`Catalog` (one per provider object); a listing that fails is tried again on the next `price`.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from ...errors import EhpcError
from ..preview import MachineGroup
from .api import ComputeApi

COMPUTE_SERVICE = "6F81-5844-456A"  # Compute Engine's service id in the catalog
PUBLIC_BILLING = "https://cloudbilling.googleapis.com"
BILLING_SCOPE = "https://www.googleapis.com/auth/cloud-billing.readonly"
WIDE_SCOPES = (BILLING_SCOPE, "https://www.googleapis.com/auth/cloud-billing",
               "https://www.googleapis.com/auth/cloud-platform")
SHARED_CORE = frozenset({"e2-micro", "e2-small", "e2-medium", "f1-micro", "g1-small"})
SKIPPED = ("Custom", "Sole Tenancy", "Commitment", "Extended")
USAGE = {False: "OnDemand", True: "Preemptible"}
UNITS = {"Core": "h", "Ram": "GiBy.h"}
DESCRIPTION = re.compile(  # the family is the machine type's prefix: E2, N1, N2D, C2D, T2A...
    r"^(?:Spot )?(?:Preemptible )?(?P<family>[A-Z]\d[A-Z0-9]*) (?:[\w-]+ )*?"
    r"Instance (?P<kind>Core|Ram) running in ")
PAGE_SIZE = 5000  # the API's largest page
MAX_PAGES = 500
ATTEMPTS = 3
TIMEOUT = (10.0, 60.0)  # connect, read (seconds)

# (family, "Core" or "Ram", usageType, region) -> USD per vCPU-hour or per GiB-hour
Rates = dict[tuple[str, str, str, str], Decimal]


@dataclass(frozen=True)
class Shape:
    """What machineTypes.get tells of a machine type."""

    cpus: int
    memory_mb: int
    shared_cpu: bool = False


def billing_endpoint(compute_endpoint: str) -> str:
    """Where the catalog is asked: Google's for Google's compute endpoint, else the same
    scheme://host:port (a bare host:port is https, as the compute clients read it)."""
    if not compute_endpoint:
        return PUBLIC_BILLING
    parts = urlsplit(compute_endpoint if "://" in compute_endpoint else f"https://{compute_endpoint}")
    host = parts.hostname or ""
    if host == "googleapis.com" or host.endswith(".googleapis.com"):
        return PUBLIC_BILLING
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def _one_line(text: str, limit: int = 200) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[:limit - 1] + "…"


def _usd(money: dict[str, Any]) -> Decimal:
    return Decimal(int(money.get("units") or 0)) + Decimal(int(money.get("nanos") or 0)) / 10**9


def rates_of(skus: list[dict[str, Any]]) -> Rates:
    """The per-vCPU and per-GiB hourly rates of predefined machine types, by family and region."""
    found: Rates = {}
    for sku in skus:
        description = str(sku.get("description", ""))
        category = sku.get("category") or {}
        usage = str(category.get("usageType") or "")
        matched = DESCRIPTION.match(description)
        if (matched is None or any(word in description for word in SKIPPED)
                or category.get("resourceFamily") != "Compute" or usage not in USAGE.values()):
            continue
        rate = _unit_rate(sku, UNITS[matched["kind"]])
        if rate is None:
            continue
        for region in sku.get("serviceRegions") or []:
            found.setdefault((matched["family"], matched["kind"], usage, region), rate)
    return found


def _unit_rate(sku: dict[str, Any], unit: str) -> Decimal | None:
    """The first tier's USD price per `unit` (h: per vCPU-hour, GiBy.h: per GiB-hour)."""
    for info in sku.get("pricingInfo") or []:
        expression = info.get("pricingExpression") or {}
        tiers = sorted(expression.get("tieredRates") or [],
                       key=lambda tier: float(tier.get("startUsageAmount") or 0))
        if expression.get("usageUnit") != unit or not tiers:
            continue
        money = tiers[0].get("unitPrice") or {}
        if money.get("currencyCode", "USD") == "USD":
            return _usd(money)
    return None


class Catalog:
    """Compute Engine's SKUs in the Cloud Billing Catalog, listed (all pages) on first use."""

    def __init__(self, credentials: Any, compute_endpoint: str) -> None:
        self.credentials = credentials
        self.endpoint = billing_endpoint(compute_endpoint)
        self._rates: Rates | None = None
        self._lock = threading.Lock()

    def rates(self) -> Rates:
        """The rates; EhpcError (one line) when the catalog cannot be read."""
        with self._lock:
            if self._rates is None:
                self._rates = rates_of(self._list())
            return self._rates

    def _list(self) -> list[dict[str, Any]]:
        from google.auth import exceptions as auth_exc
        from google.auth.transport.requests import AuthorizedSession

        url = f"{self.endpoint}/v1/services/{COMPUTE_SERVICE}/skus"
        skus: list[dict[str, Any]] = []
        seen: set[str] = set()
        token = ""
        try:
            with AuthorizedSession(_billing_credentials(self.credentials)) as session:
                for _ in range(MAX_PAGES):
                    params = {"currencyCode": "USD", "pageSize": str(PAGE_SIZE)}
                    if token:
                        params["pageToken"] = token
                    page = self._get(session, url, params)
                    skus += page.get("skus") or []
                    token = str(page.get("nextPageToken") or "")
                    if not token:
                        return skus
                    if token in seen:
                        break
                    seen.add(token)
        except auth_exc.GoogleAuthError as err:
            reason = err.args[0] if err.args else err
            raise EhpcError("the credentials could not sign a Cloud Billing Catalog request: "
                            f"{_one_line(str(reason))}") from None
        raise EhpcError(f"the Cloud Billing Catalog at {self.endpoint} pages without end")

    def _get(self, session: Any, url: str, params: dict[str, str]) -> dict[str, Any]:
        import requests

        where = f"the Cloud Billing Catalog at {self.endpoint}"
        for attempt in range(ATTEMPTS):
            last = attempt == ATTEMPTS - 1
            try:
                answer = session.get(url, params=params, timeout=TIMEOUT)
            except requests.Timeout:
                raise EhpcError(f"{where} did not answer in time") from None
            except requests.RequestException as err:  # refused, reset, DNS, TLS
                if last:
                    raise EhpcError(f"cannot reach {where} "
                                    f"({_one_line(type(err).__name__)})") from None
            else:
                if answer.status_code < 400:
                    try:
                        page = answer.json()
                    except ValueError:
                        raise EhpcError(f"{where} answered no JSON") from None
                    if not isinstance(page, dict):
                        raise EhpcError(f"{where} answered no JSON object")
                    return page
                if last or not (answer.status_code == 429 or answer.status_code >= 500):
                    raise EhpcError(_refusal(where, answer))
            time.sleep(0.5 * 2**attempt)
        raise AssertionError("unreachable")


def _refusal(where: str, answer: Any) -> str:
    try:
        message = answer.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = answer.reason or ""
    refused = "refused the credentials" if answer.status_code in (401, 403) else "refused"
    return _one_line(f"{where} {refused} ({answer.status_code}: {message})")


def _billing_credentials(credentials: Any) -> Any:
    """The compute clients' credentials; a service-account key's with the billing read-only
    scope added (a compute-scoped token cannot read the catalog; a key may ask any scope)."""
    from google.oauth2 import service_account

    if isinstance(credentials, service_account.Credentials):
        scopes = list(credentials.scopes or [])
        if not any(scope in WIDE_SCOPES for scope in scopes):
            return credentials.with_scopes([*scopes, BILLING_SCOPE])
    return credentials


def read_shapes(api: ComputeApi, zone: str, names: set[str]) -> dict[str, Shape | EhpcError]:
    """machineTypes.get of each type: its shape, or why it could not be read."""
    from google.cloud import compute_v1

    types = api._client(compute_v1.MachineTypesClient)
    found: dict[str, Shape | EhpcError] = {}
    for name in sorted(names):
        try:
            machine: Any = api.call(f"read machine type {name}", types.get, project=api.project,
                                    zone=zone, machine_type=name)
            found[name] = Shape(int(machine.guest_cpus), int(machine.memory_mb),
                                bool(machine.is_shared_cpu))
        except EhpcError as err:
            found[name] = err
    return found


def price(api: ComputeApi, catalog: Catalog, groups: list[MachineGroup], zone: str,
          shapes: dict[str, Shape | EhpcError] | None = None) -> None:
    """Set each group's hourly price from the catalog (types in the zone's region); the
    machine types are read unless `shapes` (what a dry run read already) has them."""
    region = zone.rsplit("-", 1)[0]
    names = {g.instance_type for g in groups if g.instance_type} - SHARED_CORE
    shapes = dict(shapes or {})
    shapes.update(read_shapes(api, zone, names - set(shapes)))
    rates: Rates | None = None
    failure = ""
    for group in groups:
        name = group.instance_type or ""
        group.hourly = None
        shape = shapes.get(name)
        if name in SHARED_CORE or (isinstance(shape, Shape) and shape.shared_cpu):
            group.price_source = f"no price: {name} is shared-core (the catalog prices whole vCPUs)"
            continue
        if not isinstance(shape, Shape):
            group.price_source = f"no price: {shape or 'no machine type'}"
            continue
        if rates is None and not failure:
            try:
                rates = catalog.rates()
            except EhpcError as err:
                failure = str(err)
        if rates is None:
            group.price_source = f"no price: {failure}"
            continue
        family, usage = name.split("-", 1)[0].upper(), USAGE[group.spot]
        market = "Spot" if group.spot else "on-demand"
        core = rates.get((family, "Core", usage, region))
        ram = rates.get((family, "Ram", usage, region))
        if core is None or ram is None:
            group.price_source = (f"no price: the Cloud Billing Catalog lists no {family} "
                                  f"{market} prices in {region}")
            continue
        group.hourly = float(shape.cpus * core + Decimal(shape.memory_mb) / 1024 * ram)
        group.price_source = f"Cloud Billing Catalog ({family} {market}, {region})"
