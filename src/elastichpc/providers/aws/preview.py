"""The AWS half of a dry run, in read-only calls: who the credentials are (STS), the image, the
instance types and the default VPC (EC2), the vCPU quotas (Service Quotas), on-demand prices
(the Price List API) and current spot prices (the spot price history)."""

from __future__ import annotations

import json
from typing import Any

from ...config import ClusterSpec
from ...errors import EhpcError
from ..preview import MachineGroup, Preview
from . import spot
from .client import aws_errors, region_name
from .firewall import default_vpc

# The vCPU quota that bounds each market (Service Quotas codes of EC2's standard families).
VCPU_QUOTAS = {"on-demand": "L-1216C47A", "spot": "L-34B43A08"}
PRICE_FILTERS = {"operatingSystem": "Linux", "tenancy": "Shared", "preInstalledSw": "NA",
                 "capacitystatus": "Used"}


def preview(session: Any, ec2: Any, spec: ClusterSpec, groups: list[MachineGroup],
            zone: str) -> Preview:
    region = region_name(spec.settings)
    found = Preview(region=f"{region} {zone}".strip())
    _try(found, "credentials", lambda: _caller(session))
    image = str(spec.settings.get("IMAGE", "AWS_IMAGE_ID") or "")
    found.image = image
    _try(found, "image", lambda: _image(ec2, image))
    _try(found, "network", lambda: f"default VPC {default_vpc(ec2)}")
    vcpus: dict[str, int] = {}
    try:
        vcpus = _vcpus(ec2, sorted({g.instance_type for g in groups if g.instance_type}))
        found.check("instance types", True, ", ".join(f"{t}: {n} vCPUs" for t, n in vcpus.items()))
    except EhpcError as err:
        found.check("instance types", False, str(err))
    for market in sorted({"spot" if g.spot else "on-demand" for g in groups}):
        need = sum(g.count * vcpus.get(g.instance_type or "", 0) for g in groups
                   if ("spot" if g.spot else "on-demand") == market)
        try:
            limit, name = _quota(session, market)
        except EhpcError as err:  # not readable is not a refusal: say so, do not fail
            found.notes.append(f"aws: the {market} vCPU quota was not checked: {err}")
            continue
        found.check(f"{market} vCPU quota", need <= limit, f"{need} needed of {limit} ({name})")
    price(session, ec2, spec, groups, zone)
    return found


def price(session: Any, ec2: Any, spec: ClusterSpec, groups: list[MachineGroup],
          zone: str) -> None:
    """On-demand from the Price List API, spot from the zone's spot price history."""
    region = region_name(spec.settings)
    for group in groups:
        try:
            if group.spot:
                group.hourly, group.price_source = _spot_price(ec2, group.instance_type or "", zone)
            else:
                group.hourly = _on_demand_price(session, group.instance_type or "", region)
                group.price_source = "AWS Price List (on-demand, Linux)"
        except EhpcError as err:
            group.price_source = f"no price: {err}"


def _try(found: Preview, what: str, check: Any) -> None:
    try:
        found.check(what, True, check())
    except EhpcError as err:
        found.check(what, False, str(err))


def _caller(session: Any) -> str:
    with aws_errors("tell who the credentials are (sts get-caller-identity)"):
        who = session.client("sts").get_caller_identity()
    return f"account {who['Account']} ({who['Arn']})"


def _image(ec2: Any, image: str) -> str:
    if not image:
        raise EhpcError("[IMAGE] AWS_IMAGE_ID is not set")
    with aws_errors(f"find image {image}"):
        images = ec2.describe_images(ImageIds=[image])["Images"]
    if not images:
        raise EhpcError(f"image {image} is not visible to this account")
    return f"{image}: {images[0].get('Name', '')} ({images[0].get('Architecture', '?')})"


def _vcpus(ec2: Any, types: list[str]) -> dict[str, int]:
    if not types:
        return {}
    with aws_errors(f"describe instance types {', '.join(types)}"):
        found = ec2.describe_instance_types(InstanceTypes=types)["InstanceTypes"]
    return {t["InstanceType"]: int(t["VCpuInfo"]["DefaultVCpus"]) for t in found}


def _quota(session: Any, market: str) -> tuple[int, str]:
    with aws_errors(f"read the {market} vCPU quota"):
        quota = session.client("service-quotas").get_service_quota(
            ServiceCode="ec2", QuotaCode=VCPU_QUOTAS[market])["Quota"]
    return int(quota["Value"]), str(quota.get("QuotaName", VCPU_QUOTAS[market]))


def _on_demand_price(session: Any, instance_type: str, region: str) -> float:
    filters = {"instanceType": instance_type, "regionCode": region, **PRICE_FILTERS}
    # The Price List API answers in us-east-1 for every region.
    with aws_errors(f"read the price of {instance_type}"):
        client = session.client("pricing", region_name="us-east-1")
        answer = client.get_products(
            ServiceCode="AmazonEC2", MaxResults=10,
            Filters=[{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in filters.items()])
    for item in answer.get("PriceList", []):
        product = json.loads(item) if isinstance(item, str) else item
        for term in product.get("terms", {}).get("OnDemand", {}).values():
            for dimension in term.get("priceDimensions", {}).values():
                if dimension.get("unit") == "Hrs":
                    return float(dimension["pricePerUnit"]["USD"])
    raise EhpcError(f"the Price List has no on-demand Linux price for {instance_type} in {region}")


def _spot_price(ec2: Any, instance_type: str, zone: str) -> tuple[float, str]:
    latest: dict[str, float] = {}
    for seen in spot.price_history(ec2, instance_type, zone, hours=6):
        latest.setdefault(seen.zone, seen.price)  # newest first within each zone
    if not latest:
        raise EhpcError(f"no spot price of {instance_type} in the last 6 hours")
    where, price = min(latest.items(), key=lambda item: item[1])
    return price, f"spot price now in {where} (lowest of {len(latest)} zones)"
