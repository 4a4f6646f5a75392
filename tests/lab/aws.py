"""AWS in the lab: moto's server in the lab's process, and what its EC2 backend says turned into
machines (polled from moto's models: instances, subnets, key pairs, volume attachments)."""

from __future__ import annotations

import io
import ipaddress
import itertools
import threading
import urllib.parse
from pathlib import Path
from typing import Any

from .machines import Disk, Spec
from .network import API_IP, gateway

PORT = 5000
LOGIN_USER = "admin"  # the login user of Debian's AMIs (the lab's image is Debian 12)
XEN_FAMILIES = ("t1.", "t2.", "m1.", "m2.", "m3.", "m4.", "c1.", "c3.", "c4.", "r3.", "r4.", "i2.")
# Launched without SubnetId, moto gives an instance a random 10.x.y.z that is in no subnet (AWS
# takes it from the default subnet). Random addresses could fall in another cloud's network, so
# in the lab moto hands them out in turn from the default VPC's upper half, on-link in the VPC.
DEFAULT_VPC = "172.31.0.0/16"
UNSUBNETTED = ipaddress.ip_address("172.31.128.10")
VALIDATION = {
    "MOTO_ENABLE_AMI_VALIDATION": "1",
    "MOTO_ENABLE_KEYPAIR_VALIDATION": "1",
    "MOTO_EC2_ENABLE_INSTANCE_TYPE_VALIDATION": "1",
}


def start(machines: Path) -> Any:
    """moto with what tests/emulators/aws_moto adds (GetConsoleOutput reads the console log of
    the machine booted for the instance: `machines/<instance-id>/console.log`), and addresses
    for instances launched without a subnet."""
    from moto.ec2.models import instances as moto_instances

    from tests.emulators.aws_moto import install

    install(lambda instance_id: machines / instance_id / "console.log")
    addresses = itertools.count()
    random_ip = moto_instances.random_private_ip

    def private_ip(cidr: str | None = None, ipv6: bool = False) -> str:
        if cidr or ipv6:
            return random_ip(cidr, ipv6)
        return str(UNSUBNETTED + next(addresses))

    moto_instances.random_private_ip = private_ip  # type: ignore[assignment]
    server = _moto_server()(ip_address=API_IP, port=PORT, verbose=False)
    server.start()
    return server


def _moto_server() -> type:
    from moto.server import DomainDispatcherApplication, ThreadedMotoServer, create_backend_app
    from werkzeug.serving import make_server

    from tests.emulators.aws_missing_services import answering

    class MotoServer(ThreadedMotoServer):
        """moto's threaded server with what AWS has and moto lacks answered in front of it (the
        Price List, EC2's Service Quotas), as the fault proxy does in tests/aws."""

        def _server_entry(self) -> None:
            app = refusing_spot(answering(DomainDispatcherApplication(create_backend_app)))
            self._server = make_server(self._ip_address, self._port, app, True)
            self._server_ready_event.set()
            self._server.serve_forever()

    return MotoServer


SPOT_CAPACITY = threading.Event()  # clear: the region has no spot capacity left
SPOT_CAPACITY.set()
NO_SPOT = (  # EC2's answer then (a server error, which SDKs retry a few times first)
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
    b"<Code>InsufficientInstanceCapacity</Code><Message>There is no Spot capacity available "
    b"that matches your request.</Message></Error></Errors>"
    b"<RequestID>00000000-0000-0000-0000-000000000000</RequestID></Response>")


def refusing_spot(app: Any) -> Any:
    """A WSGI app in front of `app` that refuses spot launches (spot RunInstances and
    RequestSpotInstances) while SPOT_CAPACITY is clear, as EC2 does when a capacity pool is
    exhausted; on-demand launches go on."""
    def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
        if not SPOT_CAPACITY.is_set() and environ.get("REQUEST_METHOD") == "POST":
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)
            form = urllib.parse.parse_qs(body.decode(errors="replace"))
            action = form.get("Action", [""])[0]
            if action == "RequestSpotInstances" or (
                    action == "RunInstances" and form.get("InstanceMarketOptions.MarketType") == ["spot"]):
                start_response("500 Internal Server Error", [("Content-Type", "text/xml")])
                return [NO_SPOT]
        return app(environ, start_response)

    return wsgi


# moto takes any key; the lab's is one no other file holds (tests look for it where it must not be).
SECRET_KEY = "lab-aws-secret-5f1e9c"


def env() -> dict[str, str]:
    return {"AWS_ENDPOINT_URL": f"http://{API_IP}:{PORT}", "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_EC2_METADATA_DISABLED": "true"}


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
                cidr = DEFAULT_VPC  # moto's address for an instance launched without a subnet
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
