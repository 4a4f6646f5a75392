"""What moto lacks and a dry run reads, answered by the fault proxy in front of moto, in the
real APIs' shapes: the Price List API's GetProducts (a few EC2 on-demand Linux products, each
PriceList entry a JSON string with `product.attributes` and `terms.OnDemand...priceDimensions`)
and Service Quotas' GetServiceQuota for EC2's vCPU quotas (moto knows only VPC's). Figures are
illustrative, of the order the real services give; the tests check the plumbing."""

from __future__ import annotations

import json
from typing import Any

# X-Amz-Target of each answered call -> its handler (set below)
TARGETS: dict[str, Any] = {}
PRICES = {  # (instance type, region code) -> USD per hour, on-demand Linux, shared tenancy
    ("t3.micro", "eu-west-1"): 0.0114,
    ("t3.medium", "eu-west-1"): 0.0456,
    ("m5.large", "eu-west-1"): 0.107,
    ("t3.micro", "us-east-1"): 0.0104,
    ("t3.medium", "us-east-1"): 0.0416,
    ("m5.large", "us-east-1"): 0.096,
}


def _product(instance_type: str, region: str, price: float) -> str:
    sku = f"SKU{abs(hash((instance_type, region))) % 10**12:012d}"
    term = f"{sku}.JRTCKXETXF"
    return json.dumps({
        "product": {
            "productFamily": "Compute Instance",
            "attributes": {"instanceType": instance_type, "regionCode": region,
                           "operatingSystem": "Linux", "tenancy": "Shared",
                           "preInstalledSw": "NA", "capacitystatus": "Used",
                           "servicecode": "AmazonEC2"},
            "sku": sku,
        },
        "serviceCode": "AmazonEC2",
        "terms": {"OnDemand": {term: {
            "offerTermCode": "JRTCKXETXF", "sku": sku,
            "priceDimensions": {f"{term}.6YS6EN2CT7": {
                "unit": "Hrs", "pricePerUnit": {"USD": f"{price:.10f}"},
                "description": f"${price} per On Demand Linux {instance_type} Instance Hour",
                "rateCode": f"{term}.6YS6EN2CT7", "beginRange": "0", "endRange": "Inf",
            }},
        }}},
        "version": "20260101000000", "publicationDate": "2026-01-01T00:00:00Z",
    })


def get_products(request: dict[str, Any]) -> dict[str, Any]:
    """GetProducts with TERM_MATCH filters, as the real service reads them."""
    wanted = {f["Field"]: f["Value"] for f in request.get("Filters", [])
              if f.get("Type") == "TERM_MATCH"}
    found = []
    for (instance_type, region), price in PRICES.items():
        attributes = json.loads(_product(instance_type, region, price))["product"]["attributes"]
        if all(attributes.get(field) == value for field, value in wanted.items()):
            found.append(_product(instance_type, region, price))
    return {"FormatVersion": "aws_v1", "PriceList": found}


EC2_QUOTAS = {  # Service Quotas codes of EC2's standard-family vCPU limits -> (name, value)
    "L-1216C47A": ("Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances", 32.0),
    "L-34B43A08": ("All Standard (A, C, D, H, I, M, R, T, Z) Spot Instance Requests", 32.0),
}


def get_service_quota(request: dict[str, Any]) -> dict[str, Any]:
    code = request.get("QuotaCode", "")
    if request.get("ServiceCode") != "ec2" or code not in EC2_QUOTAS:
        raise KeyError(code)
    name, value = EC2_QUOTAS[code]
    return {"Quota": {
        "ServiceCode": "ec2", "ServiceName": "Amazon Elastic Compute Cloud (Amazon EC2)",
        "QuotaArn": f"arn:aws:servicequotas:us-east-1:123456789012:ec2/{code}",
        "QuotaCode": code, "QuotaName": name, "Value": value, "Unit": "None",
        "Adjustable": True, "GlobalQuota": False,
    }}


TARGETS.update({
    "AWSPriceListService.GetProducts": get_products,
    "ServiceQuotasV20190624.GetServiceQuota": get_service_quota,
})


def answering(app: Any) -> Any:
    """A WSGI app that answers these calls and hands every other request to `app` (moto's)."""
    def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
        handler = TARGETS.get(environ.get("HTTP_X_AMZ_TARGET", ""))
        if handler is None:
            return app(environ, start_response)
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        start_response("200 OK", [("Content-Type", "application/x-amz-json-1.1")])
        return [json.dumps(handler(json.loads(body or b"{}"))).encode()]

    return wsgi
