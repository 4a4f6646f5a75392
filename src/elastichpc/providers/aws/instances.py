"""EC2 instances: one launch call per batch of alike nodes, found again by tag, waited for
together (one describe per poll, whatever the number of nodes)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ...errors import ProviderError
from ..base import Machine, NodePlan, Report
from .client import aws_errors
from .tags import (
    NODE_TAG,
    ROLE_TAG,
    cluster_filter,
    cluster_tags,
    name_runs,
    node_name,
    range_label,
    specs,
    tag_dict,
)

LIVE_STATES = ["pending", "running", "stopping", "stopped", "shutting-down"]
ANY_STATE = [*LIVE_STATES, "terminated"]
STATES = {"shutting-down": "terminated", "stopping": "stopped"}
SPOT_INTERRUPTIONS = {"Server.SpotInstanceTermination", "Server.SpotInstanceShutdown"}
POLL_SECONDS = 2.0


@dataclass
class LaunchTemplate:
    """What every instance of a cluster shares."""

    cluster: str
    image_id: str
    group_ids: list[str]
    key_name: str | None
    zone: str
    spot_price: float | None
    incarnation: str = ""  # the instances live before this launch: part of the client tokens


@dataclass
class Batch:
    plans: list[NodePlan]

    @property
    def label(self) -> str:
        return range_label([plan.name for plan in self.plans])


def batches(plans: list[NodePlan]) -> list[Batch]:
    """Alike plans (role, type, boot script, spot) with consecutive names: one launch call each."""
    groups: dict[tuple[str, str | None, str, bool], list[NodePlan]] = {}
    for plan in plans:
        groups.setdefault((plan.role, plan.instance_type, plan.boot_script, plan.spot), []).append(plan)
    out = []
    for group in groups.values():
        by_name = {plan.name: plan for plan in group}
        out += [Batch([by_name[name] for name in run]) for run in name_runs(list(by_name))]
    return out


def client_token(template: LaunchTemplate, label: str) -> str:
    """The same batch over the same live instances (and security group) -> the same token, so a
    retried call never launches twice; after a loss, or for a cluster made again under the same
    name (a new group), the token is new and EC2 does not answer with the old instances."""
    seed = f"{template.group_ids[0]}:{template.incarnation}:{label}"
    return hashlib.sha256(seed.encode()).hexdigest()[:64]


def launch_spec(template: LaunchTemplate, plan: NodePlan) -> dict[str, Any]:
    """Image, type, groups, key and zone of a launch."""
    args: dict[str, Any] = {
        "ImageId": template.image_id,
        "InstanceType": plan.instance_type,
        "SecurityGroupIds": template.group_ids,
    }
    if template.key_name:
        args["KeyName"] = template.key_name
    if template.zone:
        args["Placement"] = {"AvailabilityZone": template.zone}
    return args


def run_batch(ec2: Any, template: LaunchTemplate, batch: Batch) -> list[dict[str, Any]]:
    """One RunInstances for the batch; spot nodes as one-time spot instances at most the
    template's price (AWS makes a spot request for each, tagged as the instances are)."""
    first = batch.plans[0]
    tags = cluster_tags(
        template.cluster, **{"Name": batch.label, NODE_TAG: batch.label, ROLE_TAG: first.role}
    )
    args = launch_spec(template, first)
    args.update(
        MinCount=len(batch.plans),
        MaxCount=len(batch.plans),
        UserData=first.boot_script,  # boto3 base64-encodes it
        ClientToken=client_token(template, batch.label),
        TagSpecifications=specs(["instance", "volume", *(["spot-instances-request"] if first.spot else [])],
                                tags),
    )
    if first.spot:
        options: dict[str, Any] = {"SpotInstanceType": "one-time"}
        if template.spot_price is not None:
            options["MaxPrice"] = str(template.spot_price)
        args["InstanceMarketOptions"] = {"MarketType": "spot", "SpotOptions": options}
    with aws_errors(f"launch {batch.label} ({len(batch.plans)} x {first.instance_type})"):
        reservation = ec2.run_instances(**args)
    return list(reservation["Instances"])


def interrupted(instance: dict[str, Any]) -> bool:
    """A spot instance AWS stopped or terminated to take its capacity back."""
    return (instance.get("InstanceLifecycle") == "spot"
            and instance.get("StateReason", {}).get("Code") in SPOT_INTERRUPTIONS)


def to_machine(instance: dict[str, Any], login_user: str) -> Machine:
    tags = tag_dict(instance)
    state = "preempted" if interrupted(instance) else instance["State"]["Name"]
    spot = instance.get("InstanceLifecycle") == "spot"
    return Machine(
        name=node_name(tags.get(NODE_TAG, instance["InstanceId"]), instance.get("AmiLaunchIndex", 0)),
        role=tags.get(ROLE_TAG, "unknown"),
        provider_id=instance["InstanceId"],
        address=instance.get("PublicIpAddress", ""),
        private_address=instance.get("PrivateIpAddress", ""),
        state=STATES.get(state, state),
        login_user=login_user,
        spot=spot,
        extra={
            "instance_type": instance.get("InstanceType", ""),
            "zone": instance.get("Placement", {}).get("AvailabilityZone", ""),
            **({"spot_request": instance["SpotInstanceRequestId"]} if spot and
               instance.get("SpotInstanceRequestId") else {}),
        },
    )


def describe(ec2: Any, filters: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    with aws_errors("list instances"):
        for page in ec2.get_paginator("describe_instances").paginate(Filters=filters):
            for reservation in page["Reservations"]:
                yield from reservation["Instances"]


def cluster_instances(ec2: Any, cluster: str, states: list[str] = LIVE_STATES) -> list[dict[str, Any]]:
    return list(describe(ec2, [cluster_filter(cluster), {"Name": "instance-state-name", "Values": states}]))


def wait_running(
    ec2: Any, cluster: str, names: set[str], login_user: str, report: Report, timeout: float = 900.0
) -> dict[str, Machine]:
    """Poll the cluster's instances (one paginated call per poll) until every name runs."""
    deadline = time.monotonic() + timeout
    while True:
        found = [to_machine(instance, login_user) for instance in cluster_instances(ec2, cluster)]
        machines = {m.name: m for m in found}
        running = {name for name in names if machines.get(name) and machines[name].state == "running"}
        report(f"{len(running)}/{len(names)} machines running")
        gone = sorted(name for name in names if name not in machines)
        if gone:
            raise ProviderError(f"instances vanished while starting: {', '.join(gone[:5])}")
        if running == names:
            return machines
        if time.monotonic() > deadline:
            slow = sorted(names - running)
            raise ProviderError(
                f"{len(slow)} instances not running after {timeout:.0f}s: {', '.join(slow[:5])}"
            )
        time.sleep(POLL_SECONDS)


def terminate_ids(ec2: Any, ids: list[str]) -> None:
    for start in range(0, len(ids), 1000):
        chunk = ids[start:start + 1000]
        with aws_errors("terminate instances"):
            ec2.terminate_instances(InstanceIds=chunk)
        with aws_errors("wait for instances to terminate"):
            ec2.get_waiter("instance_terminated").wait(
                InstanceIds=chunk, WaiterConfig={"Delay": 5, "MaxAttempts": 120}
            )
