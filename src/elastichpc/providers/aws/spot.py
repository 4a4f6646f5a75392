"""Spot requests: the price history, one request call per batch of alike nodes, their state,
cancelling, and naming the instances they bring (AWS does not copy a request's tags to them)."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from ..base import NodePlan, SpotPrice, SpotRequest
from .client import aws_errors
from .instances import LaunchTemplate, batches, client_token, launch_spec
from .tags import NODE_TAG, ROLE_TAG, cluster_filter, cluster_tags, specs, tag_dict, tag_list

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
    """Node name -> spot request id. One call per batch of alike nodes (usually one)."""
    assigned: dict[str, str] = {}
    for batch in batches(plans):
        first = batch.plans[0]
        launch = launch_spec(template, first)
        launch["UserData"] = base64.b64encode(first.boot_script.encode()).decode()
        tags = cluster_tags(template.cluster, **{NODE_TAG: batch.label, ROLE_TAG: first.role})
        with aws_errors(f"request {len(batch.plans)} spot instances at ${price}/h"):
            answer = ec2.request_spot_instances(
                SpotPrice=str(price),
                InstanceCount=len(batch.plans),
                Type="one-time",
                LaunchSpecification=launch,
                ClientToken=client_token(template, "spot:" + batch.label),
                TagSpecifications=specs(["spot-instances-request"], tags),
            )
        for plan, item in zip(batch.plans, answer["SpotInstanceRequests"], strict=True):
            assigned[plan.name] = item["SpotInstanceRequestId"]
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
