"""Managed disks against the ARM fake, VHDs in Azurite: empty, imported, from a snapshot;
attach on free LUNs, detach, list, delete; and through `ehpc disk` (no mount: never SSH)."""

from __future__ import annotations

import json

import pytest

from elastichpc.cli.main import main
from elastichpc.config import load_settings, load_spec
from elastichpc.errors import ConfigError, ProviderError
from elastichpc.orchestration.create import create_cluster
from elastichpc.orchestration.terminate import terminate_cluster
from elastichpc.providers import TAG, get_provider
from tests.azure.conftest import CONTAINER, AzureEmulators
from tests.azure.vhd import upload_vhd


def _cluster(name: str) -> None:
    create_cluster(load_spec(overrides={("CLUSTER", "CLUSTER_PREFIX"): name,
                                        ("CLUSTER", "CLUSTER SIZE"): "1"}), provision_only=True)


def test_disk_life_cycle_on_a_cluster(azure: AzureEmulators) -> None:
    _cluster("azd")
    provider = get_provider("azure", load_settings())
    head = provider.machines("azd")[0]
    first = provider.create_disk("data1", 10, cluster="azd", disk_type="premium_lrs")
    provider.create_disk("data2", 20, cluster="azd")
    assert (first.size_gb, first.state, first.cluster) == (10, "available", "azd")
    assert first.extra["sku"] == "Premium_LRS"
    assert sorted(d.name for d in provider.disks("azd")) == ["data1", "data2"]  # OS disks left out

    attached = provider.attach_disk(first.disk_id, head)
    assert (attached.state, attached.attached_to, attached.device) == (
        "in-use", "azd-head", "/dev/disk/azure/scsi1/lun0")
    assert provider.attach_disk("data2", head).device == "/dev/disk/azure/scsi1/lun1"  # by name too
    vm = next(v for v in azure.fake.find("Microsoft.Compute/virtualMachines") if v["name"] == "azd-head")
    assert [d["lun"] for d in vm["properties"]["storageProfile"]["dataDisks"]] == [0, 1]

    with pytest.raises(ProviderError) as caught:
        provider.delete_disk("data1")
    assert "is attached to VM" in str(caught.value) and "\n" not in str(caught.value)

    snap = provider.snapshot_disk("data1", "snap1")
    assert (snap.name, snap.size_gb, snap.disk_id) == ("snap1", 10, first.disk_id)
    assert [s.name for s in provider.snapshots("azd")] == ["snap1"]
    copy = provider.create_disk("copy1", None, cluster="azd", snapshot="snap1")
    assert copy.size_gb == 10

    detached = provider.detach_disk("data1")
    assert (detached.state, detached.attached_to, detached.device) == ("available", "", "")
    assert provider.attach_disk("data1", head).device == "/dev/disk/azure/scsi1/lun0"  # the free LUN again
    provider.delete_disk("data2", force=True)  # detaches first
    provider.delete_snapshot("snap1")
    assert sorted(d.name for d in provider.disks("azd")) == ["copy1", "data1"]
    assert provider.snapshots("azd") == []

    terminate_cluster("azd")  # disks of the cluster carry its tag and go with it
    assert azure.fake.tagged(TAG, "azd") == []


def test_import_a_disk_from_a_vhd_in_blob_storage(azure: AzureEmulators) -> None:
    url = upload_vhd(azure.azurite.blob_endpoint, CONTAINER, "genomeKeyDisk.vhd", 3)
    azure.write_conf(**{"DISK.AZURE_DISK_URL": url})
    provider = get_provider("azure", load_settings())
    disk = provider.create_disk("imported", None)  # no size, no snapshot: [DISK] AZURE_DISK_URL
    assert (disk.size_gb, disk.cluster) == (1, "")
    stored = azure.fake.find("Microsoft.Compute/disks")[0]
    creation = stored["properties"]["creationData"]
    assert creation["createOption"] == "Import" and creation["sourceUri"] == url
    assert creation["storageAccountId"].endswith("/storageAccounts/devstoreaccount1")
    assert "/resourceGroups/ehpc-disks/" in stored["id"]
    assert [d.name for d in provider.disks()] == ["imported"]
    provider.delete_disk("imported")
    assert provider.disks() == []


def test_importing_a_missing_or_non_vhd_blob_is_one_line(azure: AzureEmulators) -> None:
    provider = get_provider("azure", load_settings())
    with pytest.raises(ConfigError, match=r"VHD .*/vhds/nothing.vhd does not exist in blob storage"):
        provider.create_disk("bad", None, source_url="nothing.vhd")
    from azure.storage.blob import BlobClient

    from tests.emulators.azure.azurite_process import ACCOUNT, ACCOUNT_KEY

    blob = BlobClient.from_blob_url(f"{azure.azurite.blob_endpoint}/{CONTAINER}/plain.txt",
                                    credential={"account_name": ACCOUNT, "account_key": ACCOUNT_KEY})
    upload_vhd(azure.azurite.blob_endpoint, CONTAINER, "seed.vhd", 1)  # makes the container
    blob.upload_blob(b"not a disk")
    with pytest.raises(ConfigError, match="is not a VHD: Azure imports fixed-size VHDs stored as page blobs"):
        provider.create_disk("bad", None, source_url=blob.url)
    assert azure.fake.find("Microsoft.Compute/disks") == []


def test_ehpc_disk_commands(azure: AzureEmulators, capsys) -> None:
    assert main(["disk", "create", "scratch", "--provider", "azure", "--size", "5G", "--json"]) == 0
    created = json.loads(capsys.readouterr().out)["disks"]
    assert [(d["name"], d["size_gb"]) for d in created] == [("scratch", 5)]
    assert main(["disk", "snapshot", "scratch", "scratch-snap", "--provider", "azure"]) == 0
    capsys.readouterr()
    assert main(["disk", "list", "--provider", "azure", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(d["name"], d["state"]) for d in listed] == [("scratch", "available")]
    assert main(["disk", "delete", "scratch-snap", "--snapshot", "--provider", "azure"]) == 0
    assert main(["disk", "delete", "scratch", "--provider", "azure"]) == 0
    assert azure.fake.find("Microsoft.Compute/disks") == azure.fake.find("Microsoft.Compute/snapshots") == []


def test_a_throttled_patch_is_retried(azure: AzureEmulators) -> None:
    """Attaching tags the disk with its LUN (a PATCH), which azure-core alone retries on 429 only
    when a Retry-After header came with it (issue 14: 20% of calls faulty failed half the Azure
    creates while OS disks were tagged that way)."""
    _cluster("azp")
    provider = get_provider("azure", load_settings())
    head = provider.machines("azp")[0]
    disk = provider.create_disk("data1", 10, cluster="azp")
    azure.fake.throttle(2, method="PATCH")
    assert provider.attach_disk(disk.disk_id, head).device == "/dev/disk/azure/scsi1/lun0"
    assert azure.fake.stats.throttled == 2
    terminate_cluster("azp")
    assert azure.fake.tagged(TAG, "azp") == []

