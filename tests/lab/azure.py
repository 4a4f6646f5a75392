"""Azure in the lab: our ARM fake (HTTPS, a CA of the lab's) and Azurite served from the lab's
process, and the fake's virtual machines turned into machines. As on an Azure Linux image, the
login user is osProfile's adminUsername with its SSH public keys, and cloud-init runs the custom
data (a script) at first boot. A NIC's address is on its VNet's bridge; a public IP address
resource on it is its 1:1 NAT; a subnet with a NAT gateway gives outbound access without one."""

from __future__ import annotations

import contextlib
import ipaddress
import uuid
import zlib
from pathlib import Path
from typing import Any

from tests.emulators.azure.azure_arm_fake import ArmFake
from tests.emulators.azure.azure_certs import make_client_cert, make_tls
from tests.emulators.azure.azurite_process import (
    ACCOUNT,
    ACCOUNT_KEY,
    AZURITE_BLOB,
    Azurite,
    start_azurite,
)

from .machines import Disk, Spec
from .network import API_IP, CALLER_NET, gateway

SUBSCRIPTION = "00000000-0000-0000-0000-00000000001a"
TENANT = "11111111-1111-1111-1111-11111111001a"


class Emulators:
    def __init__(self, directory: Path) -> None:
        # On the clouds' API address, as moto and the GCE emulator: a head agent calls it too.
        tls = make_tls(directory / "tls", API_IP)
        client = make_client_cert(directory / "keys")
        client_id = str(uuid.uuid4())
        self.fake = ArmFake(tls.cert, tls.key, SUBSCRIPTION, API_IP).start()
        self.fake.add_principal(client_id, client.certificate)
        self.azurite: Azurite | None = None
        storage = ""
        if AZURITE_BLOB.exists():  # only custom VHD images need it (scripts/install-azurite.sh)
            self.azurite = start_azurite(directory / "azurite")
            self.fake.add_storage_account("ehpc-storage", ACCOUNT, self.azurite.blob_endpoint,
                                          ACCOUNT_KEY)
            storage = (f"STORAGE ACCOUNT = {ACCOUNT}\nSTORAGE KEY = {ACCOUNT_KEY}\n"
                       f"CONTAINER = vhds\nBLOB_ENDPOINT = {self.azurite.blob_endpoint}\n")
        self.conf = directory / "azure.conf"
        self.conf.write_text(
            f"[CLUSTER]\nPROVIDER = azure\n\n[FIREWALL]\nFW_SOURCE = {CALLER_NET}\n\n[AZURE]\n"
            f"SUBSCRIPTION ID = {SUBSCRIPTION}\nTENANT ID = {TENANT}\nCLIENT ID = {client_id}\n"
            f"CERTIFICATE PATH = {client.pem}\nREGION = WUS\n{storage}"
            f"ARM_ENDPOINT = {self.fake.endpoint}\nAUTHORITY_HOST = {self.fake.endpoint}\n"
            f"CA_BUNDLE = {tls.ca}\n"
        )

    def env(self) -> dict[str, str]:
        # The fake's retail price list, as ehpc asks it only where told for a non-public ARM.
        return {"EHPC_LAB_AZURE_CONF": str(self.conf),
                "EHPC_AZURE_PRICES_ENDPOINT": self.fake.endpoint}

    def stop(self) -> None:
        self.fake.stop()
        if self.azurite:
            self.azurite.stop()

    def instances(self) -> dict[str, tuple[Spec, str, list[Disk]]]:
        """Every VM the fake holds: id -> (what to boot, AWS-like state, data disks)."""
        fake = self.fake
        found: dict[str, tuple[Spec, str, list[Disk]]] = {}
        with fake.lock:
            for vm in fake.find("Microsoft.Compute/virtualMachines"):
                with contextlib.suppress(KeyError, IndexError, StopIteration):
                    spec = self._spec(vm)
                    power = vm["properties"].get("powerState", "running")
                    state = "running" if power == "running" else "stopped"
                    found[spec.ident] = (spec, state, self._disks(vm))
        return found

    def print_serial(self, ident: str, text: str) -> None:
        """The machine's console as the VM's serial log (boot diagnostics), when this fake
        serves one."""
        feed = getattr(self.fake, "print_serial", None)
        if feed is None:
            return
        for vm in self.fake.find("Microsoft.Compute/virtualMachines"):
            if f"az-{vm['properties']['vmId']}" == ident:
                feed(vm["id"].lower(), text)

    def evict(self, ident: str) -> None:
        """Azure's eviction of a Spot VM (the fake's simulateEviction action)."""
        for vm in self.fake.find("Microsoft.Compute/virtualMachines"):
            if f"az-{vm['properties']['vmId']}" == ident:
                self.fake.arm("POST", f"{vm['id']}/simulateEviction", {"api-version": "2024-07-01"}, None)
                return
        raise KeyError(ident)

    def _resource(self, rid: str) -> dict[str, Any]:
        return self.fake.resources[rid.lower()]

    def _spec(self, vm: dict[str, Any]) -> Spec:
        props = vm["properties"]
        nic = self._resource(props["networkProfile"]["networkInterfaces"][0]["id"])
        config = nic["properties"]["ipConfigurations"][0]["properties"]
        subnet_id = config["subnet"]["id"]
        subnet = self._resource(subnet_id)
        vnet_id = subnet_id.rsplit("/subnets/", 1)[0]
        private = config["privateIPAddress"]
        cidr = subnet["properties"]["addressPrefix"]
        if ipaddress.ip_address(private) not in ipaddress.ip_network(cidr):
            cidr = self._resource(vnet_id)["properties"]["addressSpace"]["addressPrefixes"][0]
        public = None
        if config.get("publicIPAddress"):
            public = self._resource(config["publicIPAddress"]["id"])["properties"].get("ipAddress")
        profile = props["osProfile"]
        keys = [k["keyData"] for k in profile["linuxConfiguration"]["ssh"]["publicKeys"]]
        custom = self.fake.custom_data.get(vm["id"].lower(), b"").decode()
        spec = Spec(
            cloud="azure", ident=f"az-{props['vmId']}", hostname=profile.get("computerName") or vm["name"],
            network=f"az{zlib.crc32(vnet_id.lower().encode()):08x}", private_ip=private,
            prefix=ipaddress.ip_network(cidr).prefixlen, gateway=gateway(cidr), public_ip=public,
            user=profile["adminUsername"], keys=keys, user_data=custom,
            nat_ip=self._nat_ip(subnet),
        )
        return spec

    def _nat_ip(self, subnet: dict[str, Any]) -> str | None:
        """The public address of the subnet's NAT gateway (None without one)."""
        nat = subnet["properties"].get("natGateway")
        if not nat:
            return None
        address = self._resource(nat["id"])["properties"]["publicIpAddresses"][0]
        return str(self._resource(address["id"])["properties"]["ipAddress"])

    def _disks(self, vm: dict[str, Any]) -> list[Disk]:
        disks = []
        for data in vm["properties"]["storageProfile"].get("dataDisks", []):
            disk = self._resource(data["managedDisk"]["id"])
            lun = int(data["lun"])
            disks.append(Disk(f"az-{zlib.crc32(disk['id'].lower().encode()):08x}",
                              int(disk["properties"].get("diskSizeGB") or 1),
                              [f"/dev/sd{'cdefghijklmnopqrstuvwxyz'[lun]}",
                               f"/dev/disk/azure/scsi1/lun{lun}"]))
        return disks
