"""Spot nodes: the price history, one RunInstances per batch of alike nodes as spot instances,
the spot requests AWS makes for them, cancelling, and naming their instances."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from ...errors import ProviderError
from ..base import NodePlan, SpotPrice, SpotRequest
from .client import aws_errors
from .instances import LaunchTemplate, batches, run_batch
from .tags import NODE_TAG, ROLE_TAG, cluster_filter, cluster_tags, tag_dict, tag_list

LIVE_REQUEST_STATES = ["open", "active"]


def price_history(ec2: Any, instance_type: str, zone: str, hours: int = 24) -> list[SpotPrice]:
    args: dict[str, Any] = {
        "InstanceTypes": [instance_type],
        "ProductDescriptions": ["Linux/UNIX", "Linux/UNIX (Amazon VPC)"],
        "StartTime": datetime.now(UTC) - timedelta(hours=hours),
    }
    if zone:
        args["AvailabilityZone"] = zone
    prices = []
    with aws_errors(f"read the spot price history of {instance_type}"):
        for page in ec2.get_paginator("describe_spot_price_history").paginate(**args):
            for item in page["SpotPriceHistory"]:
                prices.append(
                    SpotPrice(item["AvailabilityZone"], item["InstanceType"], float(item["SpotPrice"]),
                              item["Timestamp"].timestamp())
                )
    return sorted(prices, key=lambda p: (p.zone, -p.at))


def request(ec2: Any, template: LaunchTemplate, plans: list[NodePlan], price: float) -> dict[str, str]:
    """Node name -> spot request id. One RunInstances per batch of alike nodes (usually one),
    with spot market options at most `price`/hour: AWS makes a one-time spot request for each
    instance and names it on the instance. (Not RequestSpotInstances: that legacy API is
    discouraged by AWS and denied by some organisations' policies.) No capacity at that price
    is a refusal now, in one line, not a request left open."""
    priced = replace(template, spot_price=price)
    assigned: dict[str, str] = {}
    for batch in batches(plans):
        for instance in run_batch(ec2, priced, batch):
            plan = batch.plans[instance.get("AmiLaunchIndex", 0)]
            if not instance.get("SpotInstanceRequestId"):
                raise ProviderError(f"AWS launched {instance['InstanceId']} for {plan.name} without "
                                    "a spot request: is spot capacity available to this account?")
            assigned[plan.name] = instance["SpotInstanceRequestId"]
    return assigned


def to_request(item: dict[str, Any]) -> SpotRequest:
    return SpotRequest(
        request_id=item["SpotInstanceRequestId"],
        state=item["State"],
        status=item.get("Status", {}).get("Code", ""),
        price=float(item["SpotPrice"]) if item.get("SpotPrice") else None,
        instance_id=item.get("InstanceId", ""),
        cluster=tag_dict(item).get("ehpc-cluster", ""),
        created=item["CreateTime"].timestamp() if item.get("CreateTime") else time.time(),
    )


def requests(ec2: Any, cluster: str = "", ids: list[str] | None = None) -> list[SpotRequest]:
    args: dict[str, Any] = {}
    if cluster:
        args["Filters"] = [cluster_filter(cluster)]
    if ids:
        args["SpotInstanceRequestIds"] = ids
    with aws_errors("list spot requests"):
        found = []
        for page in ec2.get_paginator("describe_spot_instance_requests").paginate(**args):
            found += [to_request(item) for item in page["SpotInstanceRequests"]]
    return found


def cancel(ec2: Any, ids: list[str]) -> None:
    for start in range(0, len(ids), 100):
        with aws_errors("cancel spot requests"):
            ec2.cancel_spot_instance_requests(SpotInstanceRequestIds=ids[start:start + 100])


def tag_cluster(ec2: Any, cluster: str, instance_ids: list[str]) -> None:
    with aws_errors("tag spot instances"):
        ec2.create_tags(Resources=instance_ids, Tags=tag_list(cluster_tags(cluster)))


def name_instances(ec2: Any, cluster: str, names: dict[str, str], role: str) -> None:
    """Tag instances (id -> node name) brought by spot requests as the cluster's nodes."""
    for instance_id, name in names.items():
        tags = cluster_tags(cluster, **{"Name": name, NODE_TAG: name, ROLE_TAG: role})
        with aws_errors(f"tag spot instance {instance_id} as {name}"):
            ec2.create_tags(Resources=[instance_id], Tags=tag_list(tags))
