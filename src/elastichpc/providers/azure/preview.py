"""The Azure half of a dry run, in read-only calls: the resource groups (which proves the
sign-in and the subscription), the region's VM sizes and vCPU usage against its quota, and the
public retail price list (prices.azure.com, unauthenticated). Against another ARM endpoint (an
emulator, a sovereign cloud) the price list is asked only at $EHPC_AZURE_PRICES_ENDPOINT, so a
dry run never reaches the public one unasked."""

from __future__ import annotations

import json
import os
import ssl
import urllib.parse
import urllib.request
from typing import Any

from ...config import ClusterSpec
from ...errors import EhpcError
from ..preview import MachineGroup, Preview
from . import catalog
from .account import PUBLIC_ARM
from .clients import AzureClients, azure_errors

PRICES_ENV = "EHPC_AZURE_PRICES_ENDPOINT"
PUBLIC_PRICES = "https://prices.azure.com"


def preview(clients: AzureClients, spec: ClusterSpec, groups: list[MachineGroup]) -> Preview:
    account = clients.account
    region = account.region
    found = Preview(region=region, image=_image(spec))
    endpoint = account.arm_endpoint
    try:
        with azure_errors("listing resource groups", endpoint):
            count = len(list(clients.resources.resource_groups.list()))
        found.check("sign-in", True, f"subscription {account.subscription} ({count} resource groups)")
    except EhpcError as err:
        found.check("sign-in", False, str(err))
        return found
    sizes = {g.instance_type: catalog.vm_size(g.instance_type) for g in groups if g.instance_type}
    cores: dict[str, int] = {}
    try:
        with azure_errors(f"listing the VM sizes of {region}", endpoint):
            offered = {s.name: s.number_of_cores for s in
                       clients.compute.virtual_machine_sizes.list(location=region)}
        for size in sorted(set(sizes.values())):
            ok = size in offered
            cores[size] = offered.get(size, 0)
            found.check(f"VM size {size}", ok, f"{offered[size]} vCPUs" if ok else
                        f"{size} is not offered in {region}")
    except EhpcError as err:
        found.notes.append(f"azure: the VM sizes were not checked: {err}")
    need = sum(g.count * cores.get(sizes.get(g.instance_type or "", ""), 0) for g in groups)
    try:
        with azure_errors(f"reading the vCPU usage of {region}", endpoint):
            usage = next((u for u in clients.compute.usage.list(location=region)
                          if u.name.value == "cores"), None)
        if usage is not None:
            free = usage.limit - usage.current_value
            found.check("vCPU quota", need <= free,
                        f"{need} needed, {free} free of {usage.limit} in {region}")
    except EhpcError as err:
        found.notes.append(f"azure: the vCPU quota was not checked: {err}")
    price(clients, groups)
    return found


def price(clients: AzureClients, groups: list[MachineGroup]) -> None:
    account = clients.account
    public = account.arm_endpoint == PUBLIC_ARM
    prices_at = os.environ.get(PRICES_ENV) or (PUBLIC_PRICES if public else "")
    for group in groups:
        if not prices_at:
            group.price_source = f"not asked: set {PRICES_ENV} for another ARM endpoint"
            continue
        try:  # a size the catalog cannot read is that group's "no price", not every group's
            size = catalog.vm_size(group.instance_type) if group.instance_type else ""
            group.hourly = _retail_price(prices_at, account.ca_bundle, account.region, size,
                                         group.spot)
            group.price_source = f"Azure retail prices ({'Spot' if group.spot else 'pay-as-you-go'}, Linux)"
        except EhpcError as err:
            group.price_source = f"no price: {err}"


def _image(spec: ClusterSpec) -> str:
    """The image as configured (a dry run makes no image from a VHD)."""
    settings = spec.settings
    image = settings.get("IMAGE", "AZURE_IMAGE_ID")
    if image:
        return str(image)
    if settings.get("IMAGE", "AZURE_OS_URL"):
        return f"an image made from the VHD {settings.get('IMAGE', 'AZURE_OS_URL')}"
    return "Ubuntu 22.04 LTS (Canonical)"


def _retail_price(endpoint: str, ca_bundle: str, region: str, size: str, spot: bool) -> float:
    query = urllib.parse.urlencode({"$filter": (
        f"serviceName eq 'Virtual Machines' and armRegionName eq '{region}' "
        f"and armSkuName eq '{size}' and priceType eq 'Consumption'")})
    context = ssl.create_default_context(cafile=ca_bundle or None)
    try:
        with urllib.request.urlopen(f"{endpoint.rstrip('/')}/api/retail/prices?{query}",
                                    timeout=20, context=context) as answer:
            items: list[dict[str, Any]] = json.load(answer).get("Items", [])
    except (OSError, ValueError) as err:
        raise EhpcError(f"the retail price list did not answer: {err}") from None
    for item in items:
        sku, product = str(item.get("skuName", "")), str(item.get("productName", ""))
        if "Windows" in product or "Low Priority" in sku or sku.endswith(" Spot") != spot:
            continue
        return float(item["retailPrice"])
    raise EhpcError(f"no {'Spot' if spot else 'pay-as-you-go'} Linux price for {size} in {region}")
