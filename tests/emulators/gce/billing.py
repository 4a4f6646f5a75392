"""The Cloud Billing Catalog API's Compute Engine SKUs (cloudbilling.googleapis.com), as few as
show its shape: `GET /v1/services/6F81-5844-456A/skus?currencyCode=USD[&pageSize=N][&pageToken=T]`
answers `{"skus": [...], "nextPageToken": "..."}`, PAGE_SIZE SKUs a page at most (so a client
must follow pages). Prices are plausible, not Google's: E2, N1 and N2 cores and RAM, on-demand
and Spot (usageType Preemptible), in us-central1 (Americas) and europe-west1 (EMEA), and SKUs a
machine-type price must not use (custom, sole tenancy, extended memory, commitments, licences).
"""

from __future__ import annotations

from typing import Any

COMPUTE_SERVICE = "6F81-5844-456A"
PAGE_SIZE = 4
CURRENCY = "USD"
EFFECTIVE = "2026-01-01T00:00:00Z"
REGIONS = {"Americas": ["us-central1"], "EMEA": ["europe-west1"]}

# (skuId, description, resourceGroup, usageType, usageUnit, USD per unit)
SKUS: list[tuple[str, str, str, str, str, str]] = [
    # Before the predefined E2 SKUs, at other prices: a parser that does not skip them is caught.
    ("A1C2-0001-E2CU", "E2 Custom Instance Core running in Americas", "CPU", "OnDemand", "h",
     "0.022890"),
    ("A1C2-0002-E2CM", "Commitment v1: E2 Cpu in Americas for 1 Year", "CPU", "Commit1Yr", "h",
     "0.013741"),
    ("A1C2-0003-E2CR", "E2 Instance Core running in Americas", "CPU", "OnDemand", "h",
     "0.021811590"),
    ("A1C2-0004-E2RR", "E2 Instance Ram running in Americas", "RAM", "OnDemand", "GiBy.h",
     "0.002923530"),
    ("A1C2-0005-E2SC", "Spot Preemptible E2 Instance Core running in Americas", "CPU",
     "Preemptible", "h", "0.006543000"),
    ("A1C2-0006-E2SR", "Spot Preemptible E2 Instance Ram running in Americas", "RAM",
     "Preemptible", "GiBy.h", "0.000877000"),
    ("A1C2-0007-E2EC", "E2 Instance Core running in EMEA", "CPU", "OnDemand", "h", "0.023969000"),
    ("A1C2-0008-E2ER", "E2 Instance Ram running in EMEA", "RAM", "OnDemand", "GiBy.h",
     "0.003213000"),
    ("A1C2-0009-N1ST", "N1 Sole Tenancy Instance Core running in Americas", "CPU", "OnDemand", "h",
     "0.034773000"),
    ("A1C2-0010-N1CR", "N1 Predefined Instance Core running in Americas", "N1Standard", "OnDemand",
     "h", "0.031611000"),
    ("A1C2-0011-N1RR", "N1 Predefined Instance Ram running in Americas", "N1Standard", "OnDemand",
     "GiBy.h", "0.004237000"),
    ("A1C2-0012-N1SC", "Spot Preemptible N1 Predefined Instance Core running in Americas",
     "N1Standard", "Preemptible", "h", "0.006655000"),
    ("A1C2-0013-N1SR", "Spot Preemptible N1 Predefined Instance Ram running in Americas",
     "N1Standard", "Preemptible", "GiBy.h", "0.000892000"),
    ("A1C2-0014-N1EC", "N1 Predefined Instance Core running in EMEA", "N1Standard", "OnDemand",
     "h", "0.034773000"),
    ("A1C2-0015-N1ER", "N1 Predefined Instance Ram running in EMEA", "N1Standard", "OnDemand",
     "GiBy.h", "0.004661000"),
    ("A1C2-0016-N2XR", "N2 Custom Extended Instance Ram running in Americas", "RAM", "OnDemand",
     "GiBy.h", "0.009550000"),
    ("A1C2-0017-N2CR", "N2 Instance Core running in Americas", "CPU", "OnDemand", "h",
     "0.031611000"),
    ("A1C2-0018-N2RR", "N2 Instance Ram running in Americas", "RAM", "OnDemand", "GiBy.h",
     "0.004237000"),
    ("A1C2-0019-N2SC", "Spot Preemptible N2 Instance Core running in Americas", "CPU",
     "Preemptible", "h", "0.007650000"),
    ("A1C2-0020-N2SR", "Spot Preemptible N2 Instance Ram running in Americas", "RAM",
     "Preemptible", "GiBy.h", "0.001025000"),
    ("A1C2-0021-N2EC", "N2 Instance Core running in EMEA", "CPU", "OnDemand", "h", "0.034773000"),
    ("A1C2-0022-N2ER", "N2 Instance Ram running in EMEA", "RAM", "OnDemand", "GiBy.h",
     "0.004661000"),
    ("A1C2-0023-LICE", "Licensing Fee for Debian on VM with 4 VCPU", "License", "OnDemand", "h",
     "0.000000000"),
]


class CatalogError(Exception):
    """A refusal in the shape of Google's JSON errors."""

    def __init__(self, code: int, status: str, message: str) -> None:
        super().__init__(message)
        self.code, self.status, self.message = code, status, message

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "status": self.status}}


def _money(price: str) -> dict[str, Any]:
    units, _, fraction = price.partition(".")
    return {"currencyCode": CURRENCY, "units": units, "nanos": int(fraction.ljust(9, "0")[:9])}


def sku(sku_id: str, description: str, group: str, usage: str, unit: str, price: str
        ) -> dict[str, Any]:
    """One SKU as services.skus.list gives it."""
    where = description.rsplit(" in ", 1)[-1] if " in " in description else "Americas"
    regions = next((r for name, r in REGIONS.items() if where.startswith(name)), ["us-central1"])
    family = "License" if group == "License" else "Compute"
    core = unit == "h"
    return {
        "name": f"services/{COMPUTE_SERVICE}/skus/{sku_id}", "skuId": sku_id,
        "description": description,
        "category": {"serviceDisplayName": "Compute Engine", "resourceFamily": family,
                     "resourceGroup": group, "usageType": usage},
        "serviceRegions": regions,
        "pricingInfo": [{
            "summary": "", "effectiveTime": EFFECTIVE, "currencyConversionRate": 1,
            "pricingExpression": {
                "usageUnit": unit, "displayQuantity": 1,
                "usageUnitDescription": "hour" if core else "gibibyte hour",
                "baseUnit": "s" if core else "By.s",
                "baseUnitDescription": "second" if core else "byte second",
                "baseUnitConversionFactor": 3600 if core else 3865470566400,
                "tieredRates": [{"startUsageAmount": 0, "unitPrice": _money(price)}],
            },
        }],
        "serviceProviderName": "Google",
        "geoTaxonomy": {"type": "MULTI_REGIONAL" if len(regions) > 1 else "REGIONAL",
                        "regions": regions},
    }


def list_skus(service: str, query: dict[str, str]) -> dict[str, Any]:
    """services.skus.list: one page of the service's SKUs."""
    if service != COMPUTE_SERVICE:
        raise CatalogError(404, "NOT_FOUND", f"Service services/{service} is not found.")
    currency = query.get("currencyCode", CURRENCY)
    if currency != CURRENCY:
        raise CatalogError(400, "INVALID_ARGUMENT", f"Currency {currency} is not served here.")
    token = query.get("pageToken", "")
    try:
        start = int(token.removeprefix("page-")) if token else 0
        size = min(int(query.get("pageSize") or PAGE_SIZE), PAGE_SIZE)
    except ValueError:
        raise CatalogError(400, "INVALID_ARGUMENT", "Invalid page token or page size.") from None
    if start < 0 or start > len(SKUS) or size < 1 or (token and not token.startswith("page-")):
        raise CatalogError(400, "INVALID_ARGUMENT", "Invalid page token or page size.")
    end = start + size
    return {"skus": [sku(*row) for row in SKUS[start:end]],
            "nextPageToken": f"page-{end}" if end < len(SKUS) else ""}


METHOD_ID = "cloudbilling.services.skus.list"
STATUSES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
            404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}


def refusal(code: int, message: str) -> CatalogError:
    return CatalogError(code, STATUSES.get(code, "UNKNOWN"), message)


def service_of(http_method: str, path: str) -> str:
    """The service id of a services.skus.list request (GET /v1/services/{service}/skus)."""
    parts = path.strip("/").split("/")
    if http_method != "GET" or len(parts) != 4 or parts[:2] != ["v1", "services"] \
            or parts[3] != "skus":
        raise refusal(404, f"No such method: {http_method} {path}")
    return parts[2]
