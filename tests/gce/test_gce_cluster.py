"""`ehpc cluster create --provider gce --provision-only`, `nodes list`, `cluster terminate`
against the emulator: what the instances, labels, metadata and firewall rules look like, spot
and preemption, idempotent reruns, constant API-call count, and nothing left behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from elastichpc.cli.main import main
from elastichpc.config import load_settings
from elastichpc.providers import TAG, get_provider
from tests.emulators.gce import Emulator

from .conftest import CALLER, PROJECT, ZONE


def ehpc(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def create(capsys: pytest.CaptureFixture[str], name: str, size: int, *extra: str) -> None:
    code, _, err = ehpc(capsys, "cluster", "create", "--provider", "gce", "--gce-project-id", PROJECT,
                        "--name", name, "--size", str(size), "--provision-only", *extra)
    assert code == 0, err


def instances(gce: Emulator, cluster: str) -> dict[str, dict]:
    return {i["name"]: i for (p, _, _), i in gce.state.instances.items()
            if p == PROJECT and i["labels"].get(TAG) == cluster}


def metadata(instance: dict) -> dict[str, str]:
    return {item["key"]: item["value"] for item in instance["metadata"]["items"]}


def test_create_list_terminate(gce: Emulator, capsys: pytest.CaptureFixture[str], state_dir: Path) -> None:
    create(capsys, "gc1", 3, "--firewall-fw-name", "web", "--firewall-fw-port", "8080",
           "--gce-instance-type", "e2-standard-4", "--gce-master-type", "n2-standard-8")
    made = instances(gce, "gc1")
    assert sorted(made) == ["gc1-head", "gc1-node1", "gc1-node2", "gc1-node3"]
    head = made["gc1-head"]
    assert head["machineType"].endswith("/machineTypes/n2-standard-8")
    assert head["labels"] == {TAG: "gc1", "ehpc-role": "head", "ehpc-node": "gc1-head"}
    assert made["gc1-node2"]["machineType"].endswith("/machineTypes/e2-standard-4")
    assert made["gc1-node2"]["labels"] == {TAG: "gc1", "ehpc-role": "compute"}
    assert all(i["tags"]["items"] == ["ehpc-gc1"] for i in made.values())
    assert all(i["scheduling"]["provisioningModel"] == "STANDARD" for i in made.values())

    # The boot script and the cluster's key travel as metadata; the key is the one ehpc keeps.
    pub = (state_dir / "clusters" / "gc1" / "id_ed25519.pub").read_text().strip()
    head_meta, worker_meta = metadata(head), metadata(made["gc1-node1"])
    assert head_meta["ssh-keys"] == f"ehpc:{pub}"
    assert "EHPC_NODE=gc1-head" in head_meta["startup-script"]
    assert head_meta["startup-script"].startswith("#!/bin/bash")
    assert "\nEHPC_NODE=''\n" in worker_meta["startup-script"]  # one script for the bulk: no name
    # No host key travels in metadata: each node makes its own and prints the public half.
    assert all("\nEHPC_HOST_KEY=" not in metadata(i)["startup-script"] for i in made.values())
    assert metadata(made["gc1-node3"]) == worker_meta

    # Workers came in one bulkInsert; the head alone.
    assert [r.method_id for r in gce.requests("instances.bulkInsert")] == ["compute.instances.bulkInsert"]
    assert len(gce.requests("instances.insert")) == 1

    rules = {name: rule for (p, name), rule in gce.state.firewalls.items() if p == PROJECT}
    assert sorted(rules) == ["ehpc-gc1-internal", "ehpc-gc1-ssh", "ehpc-gc1-web"]
    assert rules["ehpc-gc1-ssh"]["sourceRanges"] == [CALLER]
    assert rules["ehpc-gc1-ssh"]["allowed"] == [{"IPProtocol": "tcp", "ports": ["22"]}]
    assert rules["ehpc-gc1-web"]["allowed"] == [{"IPProtocol": "tcp", "ports": ["8080"]}]
    assert rules["ehpc-gc1-internal"]["sourceTags"] == ["ehpc-gc1"]
    assert all(r["targetTags"] == ["ehpc-gc1"] for r in rules.values())

    code, out, _ = ehpc(capsys, "nodes", "list", "gc1", "--json")
    listed = {n["name"]: n for n in json.loads(out)}
    assert code == 0 and len(listed) == 4
    assert listed["gc1-head"]["address"] == head["networkInterfaces"][0]["accessConfigs"][0]["natIP"]
    assert {n["state"] for n in listed.values()} == {"running"}

    code, out, _ = ehpc(capsys, "cluster", "terminate", "gc1", "--json")
    removed = json.loads(out)["removed"]
    assert code == 0
    assert sorted(r for r in removed if r.startswith("instance")) == [
        f"instance {ZONE}/gc1-{n}" for n in ("head", "node1", "node2", "node3")]
    assert len([r for r in removed if r.startswith("firewall rule")]) == 3
    assert gce.labelled(TAG, "gc1") == [] and not gce.state.firewalls and not gce.state.disks


def test_rerun_makes_only_what_is_missing(gce: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    create(capsys, "gc2", 2)
    gce.state.instances.pop((PROJECT, ZONE, "gc2-node2"))  # a worker lost before the journal knew
    gce.state.disks.pop((PROJECT, ZONE, "gc2-node2"))
    gce.clear_log()
    create(capsys, "gc2", 2)
    assert sorted(instances(gce, "gc2")) == ["gc2-head", "gc2-node1", "gc2-node2"]
    bulk = gce.requests("instances.bulkInsert")
    assert len(bulk) == 1 and not gce.requests("instances.insert") and not gce.requests("firewalls.insert")
    # One compute node removed (resize, an autoscaled node powered down): that one only.
    provider = get_provider("gce", load_settings(overrides={("GCE", "PROJECT_ID"): PROJECT}))
    assert provider.terminate_nodes("gc2", ["gc2-node1"]) == [f"instance {ZONE}/gc2-node1"]
    assert sorted(instances(gce, "gc2")) == ["gc2-head", "gc2-node2"]
    ehpc(capsys, "cluster", "terminate", "gc2")
    assert gce.labelled(TAG, "gc2") == []


def test_spot_nodes_and_preemption(gce: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    create(capsys, "gc3", 2, "--spot")
    made = instances(gce, "gc3")
    assert made["gc3-head"]["scheduling"]["provisioningModel"] == "STANDARD"  # the head is on demand
    for name in ("gc3-node1", "gc3-node2"):
        assert made[name]["scheduling"]["provisioningModel"] == "SPOT"
        assert made[name]["scheduling"]["instanceTerminationAction"] == "STOP"
    gce.preempt(PROJECT, ZONE, "gc3-node2")
    code, out, _ = ehpc(capsys, "nodes", "list", "gc3")
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    assert code == 0
    # NAME ROLE PROVIDER REGION MARKET ADDRESS OVERLAY STATE SCHEDULER
    assert rows["gc3-node2"][2:5] == ["gce", ZONE, "spot"]
    assert rows["gc3-node2"][6:] == ["-", "preempted", "-"]
    assert rows["gc3-node1"][4:5] + rows["gc3-node1"][7:] == ["spot", "running", "-"]
    assert rows["gc3-head"][4:5] + rows["gc3-head"][7:] == ["on-demand", "running", "-"]
    ehpc(capsys, "cluster", "terminate", "gc3")
    assert gce.labelled(TAG, "gc3") == []


def test_api_calls_of_a_create_do_not_grow_with_size(gce: Emulator, capsys: pytest.CaptureFixture[str]
                                                     ) -> None:
    counts = {}
    for name, size in (("small", 1), ("large", 40)):
        gce.clear_log()
        create(capsys, name, size)
        counts[size] = [r.method_id for r in gce.requests()]
        assert len(instances(gce, name)) == size + 1
    # Pricing reads the machine type once; the price is then in the journal for the next create.
    assert counts[1].count("compute.machineTypes.get") == 1
    assert "compute.machineTypes.get" not in counts[40]
    counts[1].remove("compute.machineTypes.get")
    assert counts[1] == counts[40]
    assert len(counts[40]) <= 12, counts[40]
    for name in ("small", "large"):
        ehpc(capsys, "cluster", "terminate", name)
    assert gce.labelled(TAG, "small") == gce.labelled(TAG, "large") == []


def test_listings_of_several_pages(gce: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    gce.state.page_size = 2
    create(capsys, "pg1", 4, "--firewall-fw-name", "web", "--firewall-fw-port", "80")
    code, out, _ = ehpc(capsys, "nodes", "list", "pg1", "--json")
    assert code == 0 and len(json.loads(out)) == 5
    assert any("pageToken" in r.query for r in gce.requests("aggregatedList"))
    ehpc(capsys, "cluster", "terminate", "pg1")
    assert gce.labelled(TAG, "pg1") == [] and not gce.state.firewalls and not gce.state.disks


def test_terminate_finds_the_cluster_without_local_state(
    gce: Emulator, capsys: pytest.CaptureFixture[str], state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    create(capsys, "gc4", 2, "--gce-zone", "europe-west1-b")
    monkeypatch.setenv("EHPC_STATE_DIR", str(state_dir.parent / "elsewhere"))  # a fresh journal
    code, out, _ = ehpc(capsys, "cluster", "terminate", "gc4", "--provider", "gce",
                        "--gce-project-id", PROJECT)  # default zone us-central1-a: not where it is
    assert code == 0 and "5 resources removed" in out  # 3 instances, 2 firewall rules
    assert gce.labelled(TAG, "gc4") == [] and not gce.state.firewalls
    code, out, _ = ehpc(capsys, "cluster", "terminate", "gc4", "--provider", "gce",
                        "--gce-project-id", PROJECT)
    assert code == 0 and out.startswith("Nothing to terminate")


GUIDE_CONF = """\
[CLUSTER]
CLUSTER_PREFIX = guide1
CLUSTER SIZE = 2
PROVIDER = gce

[IMAGE]
GCE_IMAGE_ID = debian-12-bookworm-v20250101  # Google Image Id

[FIREWALL]
FW_NAME = slurmrest
FW_PORT = 6820
FW_PROTOCOL = tcp

[GCE]
# GOOGLE COMPUTE ENGINE CONFIGURATION
PROJECT_ID = ehpc-test
ZONE = us-central1-b
COMPUTE SCOPE = https://www.googleapis.com/auth/compute
IMAGE PROJECT = debian-cloud
SERVICE EMAIL = hpc@ehpc-test.iam.gserviceaccount.com
NETWORK = default
SCOPES= https://www.googleapis.com/auth/devstorage.full control
API VERSION = v1
INSTANCE TYPE= e2-medium
MASTER TYPE= n2-standard-4
"""


def test_the_guides_gce_section(gce: Emulator, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    conf = tmp_path / "cluster.conf"
    conf.write_text(GUIDE_CONF)
    code, _, err = ehpc(capsys, "cluster", "create", "-c", str(conf), "--provision-only")
    assert code == 0, err
    made = instances(gce, "guide1")
    assert sorted(made) == ["guide1-head", "guide1-node1", "guide1-node2"]
    head, worker = made["guide1-head"], made["guide1-node1"]
    assert head["zone"].endswith("/zones/us-central1-b")
    assert head["machineType"].endswith("/n2-standard-4") and worker["machineType"].endswith("/e2-medium")
    boot = gce.state.disks[(PROJECT, "us-central1-b", "guide1-node2")]
    assert boot["sourceImage"].endswith("/projects/debian-cloud/global/images/debian-12-bookworm-v20250101")
    assert boot["labels"] == {TAG: "guide1", "ehpc-role": "compute"}
    assert worker["serviceAccounts"] == [{"email": "hpc@ehpc-test.iam.gserviceaccount.com",
                                          "scopes": ["https://www.googleapis.com/auth/devstorage.full_control"]}]
    assert worker["networkInterfaces"][0]["network"].endswith(f"/projects/{PROJECT}/global/networks/default")
    assert gce.state.firewalls[(PROJECT, "ehpc-guide1-slurmrest")]["allowed"] == [
        {"IPProtocol": "tcp", "ports": ["6820"]}]
    code, _, _ = ehpc(capsys, "cluster", "terminate", "guide1")
    assert code == 0 and gce.labelled(TAG, "guide1") == [] and not gce.state.firewalls


def test_an_unknown_network_is_one_clear_line(gce: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = ehpc(capsys, "cluster", "create", "--provider", "gce", "--gce-project-id", PROJECT,
                        "--name", "net1", "--gce-network", "hpcnet", "--provision-only")
    assert code == 1
    assert err.strip().splitlines()[-1] == (
        f"ehpc: error: GCE insert firewall rule ehpc-net1-ssh: The resource "
        f"'projects/{PROJECT}/global/networks/hpcnet' was not found")
    assert main(["cluster", "terminate", "net1"]) == 0


def test_the_heads_host_key_is_read_from_its_serial_port(
        gce: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    from elastichpc.orchestration.hostkeys import read_console_key

    from .conftest import gce_provider

    create(capsys, "cfkey", 1)
    provider = gce_provider()
    head = next(m for m in provider.machines("cfkey") if m.role == "head")
    assert provider.console_output(head) == ""  # nothing printed yet
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHsQ0S2Wb2u8h7Jx6r0T9m8B5tq1H2w0E3f3mVZ3lK7c"
    # The guest agent prefixes what a startup script prints; our script writes /dev/console too.
    gce.print_serial(PROJECT, ZONE, "cfkey-head",
                     "[  OK  ] Started google-startup-scripts.service.\r\n"
                     f"Nov 30 09:00:01 cfkey-head google_metadata_script_runner[517]: startup-script: "
                     f"ehpc-host-key {key}\r\n")
    assert read_console_key(provider, head, timeout=5) == key
    ehpc(capsys, "cluster", "terminate", "cfkey")
    assert gce.state.serial == {}  # a deleted instance's console goes with it
