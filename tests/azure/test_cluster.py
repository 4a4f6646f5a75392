"""Azure clusters against the ARM fake and Azurite: create (provision only: never SSH to the
fake's addresses), list from the cloud by tag, Spot and eviction, faults, terminate."""

from __future__ import annotations

import json
import shutil

import pytest

from elastichpc.cli.main import main
from elastichpc.config import load_settings, load_spec
from elastichpc.errors import ProviderError
from elastichpc.orchestration.create import create_cluster
from elastichpc.orchestration.terminate import terminate_cluster
from elastichpc.providers import TAG, get_provider
from tests.azure.conftest import CONTAINER, AzureEmulators
from tests.azure.vhd import upload_vhd

NODE_TYPES = {"microsoft.compute/virtualmachines", "microsoft.network/networkinterfaces"}


def _create(name: str, size: int = 2, **overrides: str) -> None:
    settings = {("CLUSTER", "CLUSTER_PREFIX"): name, ("CLUSTER", "CLUSTER SIZE"): str(size)}
    settings.update({tuple(k.split(".", 1)): v for k, v in overrides.items()})  # type: ignore[misc]
    context = create_cluster(load_spec(overrides=settings), provision_only=True)
    assert context.row.status == "provisioned"


def _resources(azure: AzureEmulators, cluster: str) -> list[dict]:
    return [r for r in azure.fake.resources.values() if (r.get("tags") or {}).get(TAG) == cluster]


def test_create_builds_tagged_network_and_vms_then_terminate_leaves_nothing(azure: AzureEmulators) -> None:
    azure.write_conf(**{"AZURE.MASTER TYPE": "ExtraLarge", "AZURE.INSTANCE TYPE": "Small",
                        "FIREWALL.FW_NAME": "ehpcd,web", "FIREWALL.FW_PORT": "5000,8080",
                        "FIREWALL.FW_PROTOCOL": "tcp,tcp"})
    _create("az1", size=2)
    provider = get_provider("azure", load_settings())
    machines = provider.machines("az1")
    assert [m.name for m in machines] == ["az1-head", "az1-node1", "az1-node2"]
    assert {m.state for m in machines} == {"running"}
    head, node1 = machines[0], machines[1]
    assert head.address.startswith("198.51.100.") and node1.address == ""  # public IP: head only
    assert node1.private_address.startswith("10.0.") and node1.login_user == "azureuser"

    vms = {r["name"]: r for r in azure.fake.find("Microsoft.Compute/virtualMachines")}
    assert vms["az1-head"]["properties"]["hardwareProfile"]["vmSize"] == "Standard_F8s_v2"
    assert vms["az1-node1"]["properties"]["hardwareProfile"]["vmSize"] == "Standard_B1ms"
    assert {vm["location"] for vm in vms.values()} == {"westus"}  # the guide's WUS
    key = vms["az1-node1"]["properties"]["osProfile"]["linuxConfiguration"]["ssh"]["publicKeys"][0]
    assert key["keyData"].startswith("ssh-ed25519 ") and key["path"] == "/home/azureuser/.ssh/authorized_keys"
    boot = azure.fake.custom_data[vms["az1-node2"]["id"].lower()].decode()
    # Compute nodes share one boot script (their VMs come from one copy loop); the head its own.
    # One boot script for the compute nodes, naming none (configure names each), and no host key.
    assert boot.startswith("#!/bin/bash") and "\nEHPC_NODE=''\n" in boot and key["keyData"] in boot
    assert "\nEHPC_HOST_KEY=" not in boot
    assert vms["az1-node2"]["properties"]["osProfile"]["computerName"] == "az1-node2"
    head_boot = azure.fake.custom_data[vms["az1-head"]["id"].lower()].decode()
    assert "EHPC_NODE=az1-head" in head_boot

    nsg = azure.fake.find("Microsoft.Network/networkSecurityGroups")[0]
    rules = {r["name"]: r["properties"] for r in nsg["properties"]["securityRules"]}
    assert {n: (p["destinationPortRange"], p["sourceAddressPrefix"]) for n, p in rules.items()} == {
        "ssh": ("22", "192.0.2.0/24"), "ehpcd": ("5000", "192.0.2.0/24"), "web": ("8080", "192.0.2.0/24")}
    # Public addresses: the head's, and the NAT gateway's that gives the compute nodes (which
    # have none) their outbound path.
    addresses = {r["name"]: r for r in azure.fake.find("Microsoft.Network/publicIPAddresses")}
    assert sorted(addresses) == ["az1-head-ip", "az1-nat-ip"]
    (nat,) = azure.fake.find("Microsoft.Network/natGateways")
    assert nat["properties"]["publicIpAddresses"] == [{"id": addresses["az1-nat-ip"]["id"]}]
    (subnet,) = azure.fake.find("Microsoft.Network/virtualNetworks")[0]["properties"]["subnets"]
    assert subnet["properties"]["natGateway"] == {"id": nat["id"]}

    made = _resources(azure, "az1")
    kinds = {r["type"].lower() for r in made}
    assert {"microsoft.resources/resourcegroups", "microsoft.network/virtualnetworks",
            *NODE_TYPES} <= kinds
    for resource in made:
        assert {"ehpc-role", "ehpc-node"} <= set(resource["tags"]), resource["id"]
    # Untagged: only the deployment records and the VMs' OS disks, which go with their VM.
    untagged = [r for r in azure.fake.resources.values()
                if "/subnets/" not in r["id"].lower() and TAG not in (r.get("tags") or {})
                and "ehpc-storage" not in r["id"]]
    assert {r["type"] for r in untagged} <= {"Microsoft.Resources/deployments",
                                             "Microsoft.Compute/disks"}
    for disk in (r for r in untagged if r["type"] == "Microsoft.Compute/disks"):
        owner = vms[disk["managedBy"].rsplit("/", 1)[1]]
        assert owner["properties"]["storageProfile"]["osDisk"]["deleteOption"] == "Delete"

    removed = terminate_cluster("az1")
    assert removed == ["resource group ehpc-az1"]
    assert azure.fake.tagged(TAG, "az1") == []
    assert terminate_cluster("az1", provider_name="azure", settings=load_settings()) == []


def deployment_puts(azure: AzureEmulators) -> int:
    return sum(1 for m, p in azure.fake.stats.requests
               if m == "PUT" and "Microsoft.Resources/deployments" in p)


def test_vms_come_from_one_deployment_and_a_rerun_creates_nothing_new(azure: AzureEmulators) -> None:
    azure.fake.faults.latency = 0.4
    _create("az2", size=3)
    assert deployment_puts(azure) == 1
    assert not any("virtualMachines" in p for m, p in azure.fake.stats.requests if m == "PUT")
    assert azure.fake.stats.max_vm_puts_in_flight >= 3  # ARM made the loop's VMs at once
    spec = load_spec(overrides={("CLUSTER", "CLUSTER_PREFIX"): "az2", ("CLUSTER", "CLUSTER SIZE"): "3"})
    create_cluster(spec, provision_only=True)  # resumes the provisioned cluster
    assert deployment_puts(azure) == 1
    # One compute node removed (resize, an autoscaled node powered down): its VM and what was
    # made for it, nothing of the others.
    before = {r["name"] for r in _resources(azure, "az2")}
    removed = get_provider("azure", load_settings()).terminate_nodes("az2", ["az2-node3"])
    assert [r for r in removed if r.startswith("virtualMachines")] == ["virtualMachines az2-node3"]
    gone = before - {r["name"] for r in _resources(azure, "az2")}
    assert gone and all(name.startswith("az2-node3") for name in gone), gone
    assert {r.split()[1] for r in removed} <= gone
    terminate_cluster("az2")


def test_arm_calls_of_a_create_do_not_grow_with_the_nodes(azure: AzureEmulators) -> None:
    calls = {}
    for size in (1, 12):
        azure.fake.stats.requests.clear()
        _create(f"azn{size}", size=size)
        calls[size] = len(azure.fake.stats.requests)
        terminate_cluster(f"azn{size}")
    assert calls[1] == calls[12] and calls[12] < 30, calls


def test_terminate_without_local_state_finds_everything_by_tag(azure: AzureEmulators, state_dir,
                                                              capsys) -> None:
    azure.write_conf(**{"AZURE.RESOURCE GROUP": "users-group"})
    _create("az3", size=1)
    shutil.rmtree(state_dir)  # the journal is gone: only the cloud knows
    capsys.readouterr()
    assert main(["cluster", "terminate", "az3", "--json"]) == 0  # [CLUSTER] PROVIDER = azure
    removed = json.loads(capsys.readouterr().out)["removed"]
    assert "virtualMachines az3-head" in removed and "networkSecurityGroups az3-nsg" in removed
    assert "natGateways az3-nat" in removed and "publicIPAddresses az3-nat-ip" in removed
    assert azure.fake.tagged(TAG, "az3") == []
    groups = [r["name"] for r in azure.fake.find("Microsoft.Resources/resourceGroups")]
    assert "users-group" in groups  # the user's group is kept, emptied of what we made
    assert [r["id"] for r in azure.fake.resources.values() if "/users-group/" in r["id"].lower()] == []


def test_spot_nodes_and_an_eviction_shown_in_nodes_list(azure: AzureEmulators, capsys) -> None:
    assert main(["cluster", "create", "--name", "az4", "--size", "2", "--spot", "--price", "0.05",
                 "--provision-only"]) == 0
    vms = {r["name"]: r["properties"] for r in azure.fake.find("Microsoft.Compute/virtualMachines")}
    assert "priority" not in vms["az4-head"]
    for node in ("az4-node1", "az4-node2"):
        assert vms[node]["priority"] == "Spot" and vms[node]["evictionPolicy"] == "Delete"
        assert vms[node]["billingProfile"] == {"maxPrice": 0.05}
    provider = get_provider("azure", load_settings())
    provider.clients.compute.virtual_machines.simulate_eviction("ehpc-az4", "az4-node2")  # Azure's own API
    capsys.readouterr()
    assert main(["nodes", "list", "az4", "--json"]) == 0
    states = {n["name"]: n["state"] for n in json.loads(capsys.readouterr().out)}
    assert states == {"az4-head": "running", "az4-node1": "running", "az4-node2": "preempted"}
    assert main(["cluster", "terminate", "az4"]) == 0
    assert azure.fake.tagged(TAG, "az4") == []


def test_throttling_is_retried(azure: AzureEmulators) -> None:
    azure.fake.throttle(4)
    _create("az5", size=1)
    assert azure.fake.stats.throttled == 4
    terminate_cluster("az5")


def test_endless_throttling_ends_in_one_line(azure: AzureEmulators, capsys) -> None:
    azure.fake.throttle(1000)
    code = main(["cluster", "create", "--name", "az6", "--size", "1", "--provision-only"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and err[0].startswith("Creating cluster az6"), err
    assert err[-1].startswith("ehpc: error: Azure kept throttling requests while creating the network")
    azure.fake.throttle(0)
    terminate_cluster("az6")
    assert azure.fake.tagged(TAG, "az6") == []


def test_vms_boot_from_an_image_made_of_the_vhd_at_azure_os_url(azure: AzureEmulators) -> None:
    upload_vhd(azure.azurite.blob_endpoint, CONTAINER, "os.vhd", 4)
    azure.write_conf(**{"IMAGE.AZURE_OS_URL": "os.vhd"})  # a bare name: STORAGE ACCOUNT / CONTAINER
    _create("az7", size=1)
    image = azure.fake.find("Microsoft.Compute/images")[0]
    assert image["properties"]["storageProfile"]["osDisk"]["blobUri"].endswith(f"/{CONTAINER}/os.vhd")
    for vm in azure.fake.find("Microsoft.Compute/virtualMachines"):
        assert vm["properties"]["storageProfile"]["imageReference"] == {"id": image["id"]}
    terminate_cluster("az7")
    assert azure.fake.tagged(TAG, "az7") == []


def test_a_missing_os_vhd_is_one_clear_line(azure: AzureEmulators, capsys) -> None:
    azure.write_conf(**{"IMAGE.AZURE_OS_URL": "absent.vhd"})
    assert main(["cluster", "create", "--name", "az8", "--size", "1", "--provision-only"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == f"ehpc: error: VHD {azure.azurite.blob_endpoint}/{CONTAINER}/absent.vhd does not exist " \
                  "in blob storage"
    terminate_cluster("az8")


def test_an_unknown_size_is_refused_by_azure_in_one_line(azure: AzureEmulators) -> None:
    azure.write_conf(**{"AZURE.INSTANCE TYPE": "Standard_Z99"})
    with pytest.raises(Exception) as caught:
        _create("az9", size=1)
    assert "SkuNotAvailable" in str(caught.value) and "\n" not in str(caught.value)
    terminate_cluster("az9")


def test_provider_error_names_unreachable_endpoint(azure: AzureEmulators) -> None:
    azure.write_conf(**{"AZURE.ARM_ENDPOINT": "https://127.0.0.1:9"})
    with pytest.raises(ProviderError, match=r"cannot reach Azure at https://127\.0\.0\.1:9 "):
        get_provider("azure", load_settings()).machines("nothing")


def test_a_quota_refusal_is_one_clear_line(azure: AzureEmulators, capsys) -> None:
    azure.fake.faults.core_quota = 4  # head + 1 node of 2 vCPUs fit, a third VM does not
    assert main(["cluster", "create", "--name", "azq", "--size", "2", "--provision-only"]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("ehpc: error: Azure refused creating the VMs of azq: "
                          "OperationNotAllowed: ") and "Cores quota" in err
    terminate_cluster("azq")
    assert azure.fake.tagged(TAG, "azq") == []


def test_image_by_name_and_by_marketplace_urn(azure: AzureEmulators) -> None:
    url = upload_vhd(azure.azurite.blob_endpoint, CONTAINER, "generic.vhd", 2)
    compute = get_provider("azure", load_settings()).clients.compute
    provider = get_provider("azure", load_settings())
    provider.clients.resources.resource_groups.create_or_update("images", {"location": "westus"})
    image = compute.images.begin_create_or_update("images", "ehpc-generic7", {
        "location": "westus",
        "properties": {"storageProfile": {"osDisk": {"osType": "Linux", "osState": "Generalized",
                                                     "blobUri": url}}}}).result()
    azure.write_conf(**{"IMAGE.AZURE_IMAGE_ID": "ehpc-generic7"})  # the guide's example name
    _create("azi", size=1)
    refs = [vm["properties"]["storageProfile"]["imageReference"]
            for vm in azure.fake.find("Microsoft.Compute/virtualMachines")]
    assert refs == [{"id": image.id}] * 2
    terminate_cluster("azi")
    azure.write_conf(**{"IMAGE.AZURE_IMAGE_ID": "Canonical:ubuntu-24_04-lts:server:latest"})
    _create("azu", size=1)
    refs = [vm["properties"]["storageProfile"]["imageReference"]
            for vm in azure.fake.find("Microsoft.Compute/virtualMachines")]
    assert refs == [{"publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server",
                     "version": "latest"}] * 2
    terminate_cluster("azu")
    assert [r["name"] for r in azure.fake.find("Microsoft.Compute/images")] == ["ehpc-generic7"]  # not ours


def test_the_heads_host_key_is_read_from_boot_diagnostics(azure: AzureEmulators) -> None:
    from elastichpc.orchestration.hostkeys import read_console_key

    _create("cfkey", size=1)
    provider = get_provider("azure", load_settings())
    head = next(m for m in provider.machines("cfkey") if m.role == "head")
    vm = azure.fake.resources[head.provider_id.lower()]
    assert vm["properties"]["diagnosticsProfile"] == {"bootDiagnostics": {"enabled": True}}
    boot = azure.fake.custom_data[head.provider_id.lower()].decode()
    assert "\nEHPC_HOST_KEY=" not in boot  # no host key travels in custom data
    assert provider.console_output(head) == ""  # nothing printed yet
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHsQ0S2Wb2u8h7Jx6r0T9m8B5tq1H2w0E3f3mVZ3lK7c"
    azure.fake.print_serial(head.provider_id, f"[   20.4] cloud-init[701]: ehpc-host-key {key}\n")
    assert read_console_key(provider, head, timeout=5) == key
    # The log is read with its SAS URL alone: a wrong signature is refused.
    import requests

    vms = provider.clients.compute.virtual_machines
    links = vms.retrieve_boot_diagnostics_data("ehpc-cfkey", "cfkey-head")
    forged = links.serial_console_log_blob_uri.split("?")[0] + "?sig=forged"
    assert requests.get(forged, verify=provider.clients.account.ca_bundle, timeout=10).status_code == 403
    terminate_cluster("cfkey")
    assert azure.fake.serial == {}
