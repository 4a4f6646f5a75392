"""AWS in the lab: moto's server in the lab's process, and what its EC2 backend says turned into
machines (polled from moto's models: instances, subnets, key pairs, volume attachments)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from .machines import Spec
from .network import gateway

PORT = 5000
LOGIN_USER = "admin"  # the login user of Debian's AMIs (the lab's image is Debian 12)
XEN_FAMILIES = ("t1.", "t2.", "m1.", "m2.", "m3.", "m4.", "c1.", "c3.", "c4.", "r3.", "r4.", "i2.")
# Launched without SubnetId, moto gives an instance a random 10.x.y.z that is in no subnet (AWS
# would take it from the default subnet): the lab puts those on one on-link 10/8 of the VPC.
MOTO_RANDOM = "10.0.0.0/8"
VALIDATION = {
    "MOTO_ENABLE_AMI_VALIDATION": "1",
    "MOTO_ENABLE_KEYPAIR_VALIDATION": "1",
    "MOTO_EC2_ENABLE_INSTANCE_TYPE_VALIDATION": "1",
}


@dataclass
class Disk:
    volume: str
    size_gib: int
    names: list[str]  # device node first, then the aliases udev would make


def start() -> Any:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=PORT, verbose=False)
    server.start()
    return server


def env() -> dict[str, str]:
    return {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{PORT}", "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing", "AWS_EC2_METADATA_DISABLED": "true"}


def _backends() -> list[Any]:
    from moto.ec2.models import ec2_backends

    found = []
    for account in list(ec2_backends.keys()):
        regions = ec2_backends[account]
        found += [regions[region] for region in list(regions.keys())]
    return found


def bridge(vpc_id: str) -> str:
    return f"aws{vpc_id.removeprefix('vpc-')[-8:]}"


def instances() -> dict[str, tuple[Spec, str, list[Disk]]]:
    """Every instance moto holds: id -> (what to boot, its state, its attached data volumes)."""
    found: dict[str, tuple[Spec, str, list[Disk]]] = {}
    for backend in _backends():
        for inst in list(backend.all_instances()):
            subnet = backend.get_subnet(inst.subnet_id)
            cidr = subnet.cidr_block
            if ipaddress.ip_address(inst.private_ip) not in ipaddress.ip_network(cidr):
                cidr = MOTO_RANDOM  # moto's address for an instance launched without a subnet
            pair = backend.key_pairs.get(inst.key_name) if inst.key_name else None
            keys = [_text(pair.material_public)] if pair else []
            user_data = inst.user_data[0] if isinstance(inst.user_data, list) else inst.user_data
            private = inst.private_ip
            spec = Spec(
                cloud="aws", ident=inst.id, hostname=f"ip-{private.replace('.', '-')}",
                network=bridge(subnet.vpc_id), private_ip=private,
                prefix=ipaddress.ip_network(cidr).prefixlen, gateway=gateway(cidr),
                public_ip=inst.public_ip, user=LOGIN_USER, keys=keys, user_data=_text(user_data or ""),
            )
            found[inst.id] = (spec, inst.state, _disks(backend, inst))
    return found


def _disks(backend: Any, inst: Any) -> list[Disk]:
    nitro = not inst.instance_type.startswith(XEN_FAMILIES)
    disks = []
    index = 0
    for device, mapping in sorted(inst.block_device_mapping.items()):
        if device in (inst.root_device_name, "/dev/sda1", "/dev/xvda"):
            continue
        index += 1
        volume = backend.get_volume(mapping.volume_id)
        serial = mapping.volume_id.replace("-", "")
        if nitro:
            names = [f"/dev/nvme{index}n1", f"/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_{serial}"]
        else:
            names = [device.replace("/dev/sd", "/dev/xvd")]
        disks.append(Disk(mapping.volume_id, int(volume.size), names))
    return disks


def interrupt(instance_id: str, stop: bool = False) -> None:
    """A spot interruption as AWS makes it: the instance terminated (or stopped, for the
    stop/hibernate behaviour) with the spot reason in its state reason."""
    from moto.ec2.models.instances import StateReason

    for backend in _backends():
        for inst in backend.all_instances():
            if inst.id == instance_id:
                if stop:
                    backend.stop_instances([instance_id])
                    code = "Server.SpotInstanceShutdown"
                else:
                    backend.terminate_instances([instance_id])
                    code = "Server.SpotInstanceTermination"
                inst._reason = f"{code}: Spot instance interruption"
                inst.state_reason = StateReason(inst._reason, code)
                return
    raise KeyError(instance_id)


def _text(value: Any) -> str:
    """bytes, or moto's Base64EncodedString (whose decode() undoes the base64), or str."""
    return str(value.decode()) if hasattr(value, "decode") else str(value)
