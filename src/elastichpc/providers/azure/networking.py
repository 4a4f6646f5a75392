"""A cluster's network: resource group, network security group, virtual network and subnet
(the nodes' NICs and the head's public address come with the VMs: deployment.py), and a NAT
gateway on the subnet.

Compute nodes have no public address; Azure retires default outbound access for new networks,
so without the NAT gateway they could not reach a package mirror. A NAT gateway (not the head as
a router) because it needs nothing on the head: no forwarding, no masquerade rules, no single
machine whose loss cuts every node off, and the subnet's route stays Azure's own."""

from __future__ import annotations

from typing import Any

from ...config import ClusterSpec
from .clients import AzureClients

ADDRESS_SPACE = "10.0.0.0/16"
SUBNET = "10.0.0.0/20"
SSH_PRIORITY = 1000


def ensure_group(clients: AzureClients, name: str, tags: dict[str, str], ours: bool) -> None:
    """Our group is tagged, so terminate finds and deletes it; the user's group is made
    untagged when missing and is never deleted."""
    groups = clients.resources.resource_groups
    if ours:
        groups.create_or_update(name, {"location": clients.account.region, "tags": tags})
    elif not groups.check_existence(name):
        groups.create_or_update(name, {"location": clients.account.region})


def _rule(name: str, port: int, protocol: str, source: str, priority: int) -> dict[str, Any]:
    return {
        "name": name,
        "properties": {
            "protocol": protocol.capitalize(), "access": "Allow", "direction": "Inbound",
            "priority": priority, "sourceAddressPrefix": source, "sourcePortRange": "*",
            "destinationAddressPrefix": "*", "destinationPortRange": str(port),
        },
    }


def ensure_network(clients: AzureClients, spec: ClusterSpec, group: str, source: str,
                   tags: dict[str, str]) -> str:
    """NSG (SSH + [FIREWALL] ports from `source`), VNet and subnet; returns the subnet id."""
    region = clients.account.region
    rules = [_rule("ssh", 22, "tcp", source, SSH_PRIORITY)]
    rules += [_rule(r.name, r.port, r.protocol, source, SSH_PRIORITY + 10 * (i + 1))
              for i, r in enumerate(spec.firewall)]
    network = clients.network
    nat = ensure_nat_gateway(clients, spec.name, group, tags)
    nsg = network.network_security_groups.begin_create_or_update(
        group, f"{spec.name}-nsg", {"location": region, "tags": tags, "properties": {"securityRules": rules}},
    ).result()
    vnet = network.virtual_networks.begin_create_or_update(
        group, f"{spec.name}-vnet",
        {
            "location": region, "tags": tags,
            "properties": {
                "addressSpace": {"addressPrefixes": [ADDRESS_SPACE]},
                "subnets": [{"name": "nodes", "properties": {
                    "addressPrefix": SUBNET, "networkSecurityGroup": {"id": nsg.id},
                    "natGateway": {"id": nat}}}],
            },
        },
    ).result()
    return str(vnet.subnets[0].id)


def ensure_nat_gateway(clients: AzureClients, cluster: str, group: str, tags: dict[str, str]) -> str:
    """The subnet's outbound path: a NAT gateway with one static public address; returns its id."""
    region = clients.account.region
    network = clients.network
    address = network.public_ip_addresses.begin_create_or_update(
        group, f"{cluster}-nat-ip",
        {"location": region, "tags": tags, "sku": {"name": "Standard"},
         "properties": {"publicIPAllocationMethod": "Static"}},
    ).result()
    nat = network.nat_gateways.begin_create_or_update(
        group, f"{cluster}-nat",
        {"location": region, "tags": tags, "sku": {"name": "Standard"},
         "properties": {"publicIpAddresses": [{"id": address.id}], "idleTimeoutInMinutes": 4}},
    ).result()
    return str(nat.id)

