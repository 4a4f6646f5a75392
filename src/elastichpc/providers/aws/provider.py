"""AwsProvider: the Provider interface on EC2 (instances, security group, key pair, spot, EBS).

Compute nodes are launched many per run_instances call from one user-data (the same bootstrap
as every provider's), so a create makes the same number of API calls for 1 or 1000 nodes.
"""

from __future__ import annotations

import hashlib
import os
import time
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from typing import Any

from ...config import ClusterSpec
from ...errors import EhpcError
from ..base import (
    Disk,
    Machine,
    NodePlan,
    Provider,
    Report,
    Snapshot,
    SpotPrice,
    SpotRequest,
    no_report,
)
from ..preview import MachineGroup, Preview
from ..sdk import require_sdk
from . import disks, instances, spot
from .client import (
    aws_errors,
    check_credentials,
    client_config,
    error_code,
    make_ec2,
    make_session,
    region_name,
    warn_retired_keys,
)
from .firewall import allow_overlay, ensure_key_pair, ensure_security_group
from .tags import cluster_filter, tag_dict

# With no [IMAGE] AWS_IMAGE_ID: the newest Debian 12 AMI, from the public parameter Debian keeps
# in every region's SSM Parameter Store; its login user is `admin`.
DEFAULT_IMAGE_PARAMETER = "/aws/service/debian/release/12/latest/amd64"
DEFAULT_IMAGE_USER = "admin"
# The services the provider calls (preview's sts and quotas calls are the client's; pricing is
# the agent's too, for the cost record and the budget): the head agent gets botocore's and
# boto3's data for these only (botocore carries ~400).
AGENT_SERVICES = ("ec2", "pricing", "ssm")
MODEL_DIRS = (("botocore", "data"), ("boto3", "data"))


class AwsProvider(Provider):
    name = "aws"

    @property
    def login_user(self) -> str:
        if self.settings.is_set("AWS", "SSH_USER") or self.settings.get("IMAGE", "AWS_IMAGE_ID"):
            return str(self.settings.get("AWS", "SSH_USER"))
        return DEFAULT_IMAGE_USER

    @cached_property
    def image_id(self) -> str:
        """[IMAGE] AWS_IMAGE_ID, else the default image's id, looked up in this region."""
        image = self.settings.get("IMAGE", "AWS_IMAGE_ID")
        if image:
            return str(image)
        ssm = self.session.client("ssm", config=client_config())
        with aws_errors(f"look up the default image ({DEFAULT_IMAGE_PARAMETER}); or set "
                        "[IMAGE] AWS_IMAGE_ID"):
            return str(ssm.get_parameter(Name=DEFAULT_IMAGE_PARAMETER)["Parameter"]["Value"])

    @cached_property
    def session(self) -> Any:
        warn_retired_keys(self.settings)
        return make_session(self.settings)

    @cached_property
    def ec2(self) -> Any:
        return make_ec2(self.session)

    @property
    def zone(self) -> str:
        return str(self.settings.get("AWS", "ZONE") or "")

    def check_ready(self, spec: ClusterSpec | None = None) -> None:
        require_sdk("AWS", "boto3", "aws")
        region_name(self.settings)
        check_credentials(self.session)

    def preview(self, spec: ClusterSpec, groups: list[MachineGroup]) -> Preview:
        from .preview import preview

        return preview(self.session, self.ec2, spec, groups, self.zone)

    def price(self, spec: ClusterSpec, groups: list[MachineGroup]) -> None:
        from .preview import price

        price(self.session, self.ec2, spec, groups, self.zone)

    def agent_environment(self) -> dict[str, str]:
        credentials = self.session.get_credentials()
        if credentials is None:
            return {}
        frozen = credentials.get_frozen_credentials()  # what the chain resolved (a profile, SSO...)
        found = {"AWS_ACCESS_KEY_ID": frozen.access_key, "AWS_SECRET_ACCESS_KEY": frozen.secret_key,
                 "AWS_REGION": region_name(self.settings)}
        if frozen.token:
            found["AWS_SESSION_TOKEN"] = frozen.token
        # AWS_ENDPOINT_URL and the per-service AWS_ENDPOINT_URL_<SERVICE>, which boto3 honours.
        found.update({k: v for k, v in os.environ.items() if k.startswith("AWS_ENDPOINT_URL")})
        return found

    def agent_keeps(self, path: str) -> bool:
        parts = tuple(path.split("/"))
        if parts[:2] not in MODEL_DIRS or len(parts) < 4:  # code, and the top-level data files
            return True
        return parts[2] in AGENT_SERVICES and parts[-1] != "examples-1.json"

    # ---- machines ------------------------------------------------------------------------------
    def _template(self, spec: ClusterSpec, plans: list[NodePlan]) -> instances.LaunchTemplate:
        groups = [ensure_security_group(self.ec2, spec)]
        extra = spec.settings.get("AWS", "securityGroup")
        if extra:
            groups.append(self._group_id(extra))
        return instances.LaunchTemplate(
            cluster=spec.name,
            image_id=self.image_id,
            group_ids=groups,
            key_name=ensure_key_pair(self.ec2, spec, plans[0].ssh_public_key if plans else ""),
            zone=self.zone,
            spot_price=spec.spot_price,
        )

    def _group_id(self, group: str) -> str:
        """[AWS] securityGroup, by id (sg-...) or by name."""
        key = "group-id" if group.startswith("sg-") else "group-name"
        with aws_errors(f"find security group {group!r}"):
            found = self.ec2.describe_security_groups(Filters=[{"Name": key, "Values": [group]}])
        if not found["SecurityGroups"]:
            raise EhpcError(f"[AWS] securityGroup {group!r} does not exist in this region")
        return str(found["SecurityGroups"][0]["GroupId"])

    def launch(self, spec: ClusterSpec, plans: list[NodePlan], report: Report) -> list[Machine]:
        template = self._template(spec, plans)
        live = [m for m in self.machines(spec.name) if m.state in ("pending", "running")]
        template.incarnation = hashlib.sha256(
            ",".join(sorted(m.provider_id for m in live)).encode()).hexdigest()
        missing = [plan for plan in plans if plan.name not in {m.name for m in live}]
        if missing:
            todo = instances.batches(missing)
            report(f"launching {len(missing)} machines in {len(todo)} calls")
            with ThreadPoolExecutor(max_workers=4) as pool:
                list(pool.map(lambda batch: instances.run_batch(self.ec2, template, batch), todo))
        names = {plan.name for plan in plans}
        running = instances.wait_running(self.ec2, spec.name, names, self.login_user, report)
        return [running[plan.name] for plan in plans]

    def machines(self, cluster: str) -> list[Machine]:
        """Live instances, and spot instances AWS terminated by an interruption (its default
        behaviour) as `preempted` while their spot request lives, unless the node runs again.
        EC2 lists a terminated instance for about an hour; once its request is closed (AWS
        closes a one-time request it interrupted) or cancelled (`terminate_nodes`), it is only
        EC2's memory of a machine that is gone."""
        listed = instances.cluster_instances(self.ec2, cluster, instances.ANY_STATE)
        ended = {i["InstanceId"] for i in listed
                 if i["State"]["Name"] == "terminated" and instances.interrupted(i)}
        if ended:
            ended -= {r.instance_id for r in spot.requests(self.ec2, cluster)
                      if r.state in spot.LIVE_REQUEST_STATES}
        found = [instances.to_machine(i, self.login_user) for i in listed
                 if i["State"]["Name"] != "terminated"
                 or (instances.interrupted(i) and i["InstanceId"] not in ended)]
        live = {m.name for m in found if m.state != "preempted"}
        kept = [m for m in found if m.state != "preempted" or m.name not in live]
        return sorted(kept, key=lambda m: (m.role != "head", len(m.name), m.name))

    def terminate_nodes(self, cluster: str, names: list[str], report: Report = no_report) -> list[str]:
        wanted = set(names)
        theirs = [i for i in instances.cluster_instances(self.ec2, cluster, instances.ANY_STATE)
                  if instances.to_machine(i, self.login_user).name in wanted]
        ids = sorted(i["InstanceId"] for i in theirs if i["State"]["Name"] in instances.LIVE_STATES)
        # A live spot request of one of them would launch it again; one whose instance AWS took
        # back (a one-time request AWS closes, which moto keeps active) goes too.
        every = {i["InstanceId"] for i in theirs}
        live = [r.request_id for r in spot.requests(self.ec2, cluster)
                if r.instance_id in every and r.state in spot.LIVE_REQUEST_STATES]
        if live:
            spot.cancel(self.ec2, live)
        if ids:
            report(f"terminating {len(ids)} instances")
            instances.terminate_ids(self.ec2, ids)
        return [f"spot request {r}" for r in live] + [f"instance {i}" for i in ids]

    def terminate(self, cluster: str, report: Report) -> list[str]:
        removed: list[str] = []
        requests = spot.requests(self.ec2, cluster)
        live_requests = [r.request_id for r in requests if r.state in spot.LIVE_REQUEST_STATES]
        if live_requests:
            spot.cancel(self.ec2, live_requests)
            removed += [f"spot request {rid}" for rid in live_requests]
        ids = {i["InstanceId"] for i in instances.cluster_instances(self.ec2, cluster)}
        from_requests = [r.instance_id for r in requests if r.instance_id and r.instance_id not in ids]
        if from_requests:  # fulfilled but not tagged yet (the monitor died in between)
            ids |= {i["InstanceId"] for i in instances.describe(self.ec2, [
                {"Name": "instance-id", "Values": from_requests},
                {"Name": "instance-state-name", "Values": instances.LIVE_STATES},
            ])}
        if ids:
            report(f"terminating {len(ids)} instances")
            instances.terminate_ids(self.ec2, sorted(ids))
            removed += [f"instance {i}" for i in sorted(ids)]
        for volume in disks.volumes(self.ec2, cluster):
            if volume["State"] != "deleting" and disks.delete(self.ec2, volume["VolumeId"], force=True):
                removed.append(f"volume {volume['VolumeId']}")
        removed += self._delete_groups(cluster, report)
        with aws_errors("list the cluster's key pairs"):
            pairs = self.ec2.describe_key_pairs(Filters=[cluster_filter(cluster)])["KeyPairs"]
        for pair in pairs:
            with aws_errors(f"delete key pair {pair['KeyName']}"):
                self.ec2.delete_key_pair(KeyName=pair["KeyName"])
            removed.append(f"key pair {pair['KeyName']}")
        return removed

    def _delete_groups(self, cluster: str, report: Report, patience: float = 120.0) -> list[str]:
        from botocore.exceptions import ClientError

        with aws_errors("list the cluster's security groups"):
            groups = self.ec2.describe_security_groups(Filters=[cluster_filter(cluster)])["SecurityGroups"]
        removed = []
        for group in groups:
            deadline = time.monotonic() + patience
            while True:  # network interfaces of terminated instances linger for a while
                try:
                    self.ec2.delete_security_group(GroupId=group["GroupId"])
                    break
                except ClientError as err:
                    if error_code(err) != "DependencyViolation" or time.monotonic() > deadline:
                        with aws_errors(f"delete security group {group['GroupId']}"):
                            raise
                    report(f"waiting for {group['GroupId']} to be free")
                    time.sleep(5)
            removed.append(f"security group {group['GroupId']}")
        return removed

    def console_output(self, machine: Machine) -> str:
        """boto3 decodes the base64 Output. Latest (the live buffer) exists on Nitro instances
        only; older types give the copy EC2 posts shortly after boot."""
        from botocore.exceptions import ClientError

        with aws_errors(f"read the console of {machine.name}"):
            try:
                answer = self.ec2.get_console_output(InstanceId=machine.provider_id, Latest=True)
            except ClientError as err:
                if error_code(err) != "UnsupportedOperation":
                    raise
                answer = self.ec2.get_console_output(InstanceId=machine.provider_id)
        return str(answer.get("Output") or "")

    # ---- disks ---------------------------------------------------------------------------------
    def _default_zone(self) -> str:
        if self.zone:
            return self.zone
        with aws_errors("list availability zones"):
            zones = self.ec2.describe_availability_zones(
                Filters=[{"Name": "state", "Values": ["available"]}]
            )["AvailabilityZones"]
        return str(zones[0]["ZoneName"])

    def _names(self, volumes: list[dict[str, Any]]) -> dict[str, str]:
        """Instance id -> node name for the instances these volumes are attached to."""
        ids = sorted({a["InstanceId"] for v in volumes for a in v.get("Attachments") or []})
        if not ids:
            return {}
        found = instances.describe(self.ec2, [{"Name": "instance-id", "Values": ids}])
        return {i["InstanceId"]: instances.to_machine(i, self.login_user).name
                for i in found if tag_dict(i).get("ehpc-node")}

    def _disk(self, volume_id: str) -> Disk:
        volume = disks.volume(self.ec2, volume_id)
        return disks.to_disk(volume, self._names([volume]))

    def create_disk(
        self,
        name: str,
        size_gb: int | None,
        *,
        cluster: str = "",
        zone: str = "",
        disk_type: str = "",
        snapshot: str = "",
        source_url: str = "",
    ) -> Disk:
        if source_url:
            raise EhpcError("EBS volumes are made empty or from a snapshot, not from a URL")
        volume = disks.create(self.ec2, name, size_gb, zone or self._default_zone(), cluster,
                              disk_type, snapshot)
        return disks.to_disk(volume, {})

    def snapshot_disk(self, disk_id: str, name: str) -> Snapshot:
        return disks.snapshot(self.ec2, disk_id, name)

    def attach_disk(self, disk_id: str, machine: Machine, device: str = "") -> Disk:
        device = device or disks.free_device(self.ec2, machine.provider_id)
        disks.attach(self.ec2, disk_id, machine.provider_id, device)
        return self._disk(disk_id)

    def detach_disk(self, disk_id: str) -> Disk:
        disks.detach(self.ec2, disk_id)
        return self._disk(disk_id)

    def disks(self, cluster: str = "") -> list[Disk]:
        volumes = disks.volumes(self.ec2, cluster)
        names = self._names(volumes)
        return [disks.to_disk(v, names) for v in volumes]

    def delete_disk(self, disk_id: str, force: bool = False) -> None:
        disks.delete(self.ec2, disk_id, force)

    def snapshots(self, cluster: str = "") -> list[Snapshot]:
        return disks.snapshots(self.ec2, cluster)

    def delete_snapshot(self, snapshot_id: str) -> None:
        disks.delete_snapshot(self.ec2, snapshot_id)

    def allow_overlay(self, cluster: str, port: int, sources: list[str]) -> None:
        allow_overlay(self.ec2, cluster, port, sources)

    # ---- spot ----------------------------------------------------------------------------------
    def spot_prices(self, instance_type: str, zone: str = "") -> list[SpotPrice]:
        return spot.price_history(self.ec2, instance_type, zone or self.zone)

    def request_spot(self, spec: ClusterSpec, plans: list[NodePlan], price: float) -> dict[str, str]:
        return spot.request(self.ec2, self._template(spec, plans), plans, price)

    def spot_requests(self, cluster: str = "", ids: list[str] | None = None) -> list[SpotRequest]:
        return spot.requests(self.ec2, cluster, ids)

    def adopt_spot(self, cluster: str, names: dict[str, str]) -> None:
        spot.name_instances(self.ec2, cluster, names, "compute")

    def cancel_spot(self, request_ids: list[str]) -> None:
        # A fulfilled request's instance keeps running (as on AWS): make sure it carries the
        # cluster tag, so that terminate still finds it once the request is gone.
        for request in spot.requests(self.ec2, ids=request_ids):
            if request.instance_id and request.cluster:
                spot.tag_cluster(self.ec2, request.cluster, [request.instance_id])
        spot.cancel(self.ec2, request_ids)
