"""The cluster's security group (SSH + [FIREWALL] ports from the caller's range, all traffic
between its own nodes) and the key pair made for it."""

from __future__ import annotations

from typing import Any

from ...config import ClusterSpec
from ...errors import ConfigError, PrerequisiteError
from ..network import source_cidr
from .client import aws_errors
from .tags import cluster_filter, cluster_tags, specs


def group_name(cluster: str) -> str:
    return f"ehpc-{cluster}"


def default_vpc(ec2: Any) -> str:
    with aws_errors("describe the default VPC"):
        vpcs = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
    if not vpcs:
        raise PrerequisiteError("the region has no default VPC: create one (aws ec2 create-default-vpc)")
    return str(vpcs[0]["VpcId"])


def ensure_security_group(ec2: Any, spec: ClusterSpec) -> str:
    """The id of the cluster's group, made (with its rules) when missing."""
    with aws_errors("look up the cluster's security group"):
        found = ec2.describe_security_groups(
            Filters=[cluster_filter(spec.name), {"Name": "group-name", "Values": [group_name(spec.name)]}]
        )["SecurityGroups"]
    if found:
        return str(found[0]["GroupId"])
    cidr = source_cidr(spec.settings, ec2.meta.endpoint_url)
    with aws_errors("create the cluster's security group"):
        group_id = ec2.create_security_group(
            GroupName=group_name(spec.name),
            Description=f"ElasticHPC cluster {spec.name}",
            VpcId=default_vpc(ec2),
            TagSpecifications=specs(["security-group"], cluster_tags(spec.name)),
        )["GroupId"]
    ports = [(22, "tcp")] + [(rule.port, rule.protocol) for rule in spec.firewall]
    permissions = [
        {"IpProtocol": protocol, "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": cidr}]}
        for port, protocol in dict.fromkeys(ports)
    ]
    permissions.append({"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": group_id}]})
    with aws_errors("open the cluster's ports"):
        ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=permissions)
    return str(group_id)


def allow_overlay(ec2: Any, cluster: str, port: int, sources: list[str]) -> None:
    """Let the overlay's UDP port in from these addresses only (the cluster's other nodes)."""
    with aws_errors("look up the cluster's security group"):
        groups = ec2.describe_security_groups(
            Filters=[cluster_filter(cluster), {"Name": "group-name", "Values": [group_name(cluster)]}]
        )["SecurityGroups"]
    if not groups:
        raise ConfigError(f"cluster {cluster} has no security group in this region")
    opened = {r["CidrIp"] for p in groups[0]["IpPermissions"]
              if p.get("IpProtocol") == "udp" and p.get("FromPort") == port for r in p["IpRanges"]}
    wanted = [f"{address}/32" for address in sources if f"{address}/32" not in opened]
    if wanted:
        with aws_errors("open the overlay's port"):
            ec2.authorize_security_group_ingress(GroupId=groups[0]["GroupId"], IpPermissions=[
                {"IpProtocol": "udp", "FromPort": port, "ToPort": port,
                 "IpRanges": [{"CidrIp": cidr} for cidr in wanted]}])


def ensure_key_pair(ec2: Any, spec: ClusterSpec, login_pubkey: str) -> str | None:
    """[AWS] keyPair when given (it must exist), else a key pair of the cluster's login key."""
    user_pair = spec.settings.get("AWS", "keyPair")
    if user_pair:
        with aws_errors(f"find key pair {user_pair!r}"):
            pairs = ec2.describe_key_pairs(Filters=[{"Name": "key-name", "Values": [user_pair]}])
        if not pairs["KeyPairs"]:
            raise ConfigError(f"[AWS] keyPair {user_pair!r} does not exist in this region")
        return str(user_pair)
    if not login_pubkey:
        return None
    name = f"ehpc-{spec.name}"
    with aws_errors("look up the cluster's key pair"):
        found = ec2.describe_key_pairs(Filters=[cluster_filter(spec.name)])["KeyPairs"]
    if not any(pair["KeyName"] == name for pair in found):
        with aws_errors("import the cluster's key pair"):
            ec2.import_key_pair(
                KeyName=name,
                PublicKeyMaterial=login_pubkey.encode(),
                TagSpecifications=specs(["key-pair"], cluster_tags(spec.name)),
            )
    return name
