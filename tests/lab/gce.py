"""GCE in the lab: our emulator served from the lab's process, and its instances turned into
machines (read from the emulator's state under its lock). As Compute Engine's guest agent does,
the machine's login user comes from the `ssh-keys` metadata, and the `startup-script` runs at
every boot."""

from __future__ import annotations

import ipaddress
import zlib
from typing import Any

from tests.emulators.gce import EmulatorServer
from tests.emulators.gce.resources import last_segment

from .machines import Disk, Spec
from .network import API_IP

PORT = 8085
SUBNET = "10.128.0.0/16"  # the emulator hands out 10.128.0.2, .3... on every network


def start() -> EmulatorServer:
    return EmulatorServer(PORT, API_IP).start()


def env() -> dict[str, str]:
    # google-auth must never look for a metadata server: these are read at its import.
    return {"EHPC_GCE_ENDPOINT": f"http://{API_IP}:{PORT}", "NO_GCE_CHECK": "true",
            "GCE_METADATA_HOST": "127.0.0.1:9", "GCE_METADATA_IP": "127.0.0.1:9"}


def instances(server: EmulatorServer) -> dict[str, tuple[Spec, str, list[Disk]]]:
    """Every instance the emulator holds: id -> (what to boot, AWS-like state, data disks)."""
    from tests.emulators.gce import instances as api

    state = server.emulator.state
    found: dict[str, tuple[Spec, str, list[Disk]]] = {}
    with state.lock:
        for (project, _zone, name), stored in state.instances.items():
            instance = api.render(state, stored)
            nic = instance["networkInterfaces"][0]
            metadata = {i["key"]: i.get("value", "") for i in instance["metadata"].get("items", [])}
            user, keys = _ssh_keys(metadata.get("ssh-keys", ""))
            nat = [c["natIP"] for c in nic.get("accessConfigs", []) if c.get("natIP")]
            spec = Spec(
                cloud="gce", ident=f"gce-{instance['id']}", hostname=name,
                network=_bridge(project, nic["network"]),
                private_ip=nic["networkIP"], prefix=ipaddress.ip_network(SUBNET).prefixlen,
                gateway=str(next(ipaddress.ip_network(SUBNET).hosts())),
                public_ip=nat[0] if nat else None, user=user, keys=keys,
                user_data=metadata.get("startup-script", ""), every_boot=True,
            )
            status = {"PROVISIONING": "pending", "STAGING": "pending", "RUNNING": "running",
                      "TERMINATED": "stopped", "STOPPING": "stopped"}.get(instance["status"], "stopped")
            found[spec.ident] = (spec, status, _disks(state, instance))
            NAMES[spec.ident] = (project, _zone, name)
    return found


NAMES: dict[str, tuple[str, str, str]] = {}  # lab ident -> (project, zone, instance name)


def print_serial(server: EmulatorServer, ident: str, text: str) -> None:
    """The machine's console on the instance's serial port 1, where the emulator serves it
    (getSerialPortOutput), when this emulator has one."""
    feed = getattr(server.emulator, "print_serial", None)
    if feed is not None and ident in NAMES:
        feed(*NAMES[ident], text)


def preempt(server: EmulatorServer, ident: str) -> None:
    """What Compute Engine does to a Spot VM it reclaims (the emulator's own preemption)."""
    server.emulator.preempt(*NAMES[ident])


def _bridge(project: str, network: str) -> str:
    return f"gce{zlib.crc32(f'{project} {network}'.encode()):08x}"


def _ssh_keys(value: str) -> tuple[str, list[str]]:
    """The guest agent's reading of `ssh-keys`: USER:KEY lines (one user here: the first)."""
    users: dict[str, list[str]] = {}
    for line in value.splitlines():
        user, _, key = line.partition(":")
        if user and key:
            users.setdefault(user, []).append(key)
    if not users:
        return "", []
    user = next(iter(users))
    return user, users[user]


def _disks(state: Any, instance: dict[str, Any]) -> list[Disk]:
    disks = []
    for index, attached in enumerate(d for d in instance["disks"] if not d.get("boot")):
        letter = "bcdefghijklmnop"[index]
        device = attached["deviceName"]
        disks.append(Disk(f"gce-{last_segment(attached['source'])}", int(attached["diskSizeGb"]),
                          [f"/dev/sd{letter}", f"/dev/disk/by-id/google-{device}",
                           f"/dev/disk/by-id/scsi-0Google_PersistentDisk_{device}"]))
    return disks
