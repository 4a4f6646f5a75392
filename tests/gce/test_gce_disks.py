"""Disks and snapshots (guide 4.a-4.c, 4.f, 4.g) on GCE: at provider level, and through the
`ehpc disk` commands that need no SSH (attach formats and mounts over SSH: never against the
emulator, whose addresses are fake)."""

from __future__ import annotations

import json

import pytest

from elastichpc.cli.main import main
from elastichpc.config import build_spec
from elastichpc.errors import ConfigError, ProviderError
from elastichpc.orchestration.create import create_cluster
from elastichpc.providers import TAG
from tests.emulators.gce import Emulator

from .conftest import PROJECT, ZONE, gce_provider, gce_settings


def test_disk_lifecycle_at_provider_level(gce: Emulator) -> None:
    create_cluster(build_spec(gce_settings(CLUSTER__CLUSTER_SIZE=1), name="dk1"), provision_only=True)
    provider = gce_provider()
    head = next(m for m in provider.machines("dk1") if m.role == "head")

    empty = provider.create_disk("dk1-data", 20, cluster="dk1", disk_type="pd-ssd")
    assert (empty.disk_id, empty.size_gb, empty.state, empty.cluster) == (
        f"{ZONE}/dk1-data", 20, "available", "dk1")
    assert gce.state.disks[(PROJECT, ZONE, "dk1-data")]["type"].endswith("/diskTypes/pd-ssd")

    snapshot = provider.snapshot_disk(empty.disk_id, "dk1-snap")
    assert (snapshot.name, snapshot.disk_id, snapshot.size_gb) == ("dk1-snap", f"{ZONE}/dk1-data", 20)
    copy = provider.create_disk("dk1-copy", None, snapshot="dk1-snap")  # no cluster: kept
    assert (copy.size_gb, copy.extra["source_snapshot"], copy.cluster) == (20, "dk1-snap", "")
    with pytest.raises(ProviderError, match="at least the snapshot's size"):
        provider.create_disk("dk1-small", 10, snapshot="dk1-snap")

    attached = provider.attach_disk(empty.disk_id, head)
    assert (attached.state, attached.attached_to, attached.device) == (
        "in-use", "dk1-head", "/dev/disk/by-id/google-dk1-data")
    in_use = f"already being used by 'projects/{PROJECT}/zones/{ZONE}/instances/dk1-head'"
    with pytest.raises(ProviderError, match=in_use):
        provider.delete_disk(empty.disk_id)
    listed = {d.name: d for d in provider.disks()}
    assert sorted(listed) == ["dk1-copy", "dk1-data"]  # boot disks are not data disks
    assert listed["dk1-data"].attached_to == "dk1-head"
    assert [d.name for d in provider.disks("dk1")] == ["dk1-data"]

    detached = provider.detach_disk(empty.disk_id)
    assert (detached.state, detached.attached_to) == ("available", "")
    with pytest.raises(ProviderError, match="not attached"):
        provider.detach_disk(empty.disk_id)
    provider.attach_disk(empty.disk_id, head)
    provider.delete_disk(empty.disk_id, force=True)  # detached first
    assert (PROJECT, ZONE, "dk1-data") not in gce.state.disks

    provider.attach_disk(copy.disk_id, head)
    removed = provider.terminate("dk1", lambda _: None)
    assert "instance us-central1-a/dk1-head" in removed
    # The copy was not made with the cluster: terminate leaves it, detached; so is the snapshot.
    assert provider.disks()[0].name == "dk1-copy" and provider.disks()[0].state == "available"
    assert [s.name for s in provider.snapshots("dk1")] == ["dk1-snap"]
    assert gce.labelled(TAG, "dk1") == []
    provider.delete_disk("dk1-copy")  # a bare name: [GCE] ZONE
    provider.delete_snapshot("dk1-snap")
    assert not gce.state.disks and not gce.state.snapshots


def test_cluster_disks_go_with_terminate(gce: Emulator) -> None:
    create_cluster(build_spec(gce_settings(CLUSTER__CLUSTER_SIZE=1), name="dk2"), provision_only=True)
    provider = gce_provider()
    worker = next(m for m in provider.machines("dk2") if m.role == "compute")
    disk = provider.create_disk("dk2-scratch", 5, cluster="dk2")
    provider.attach_disk(disk.disk_id, worker)
    removed = provider.terminate("dk2", lambda _: None)
    assert f"disk {ZONE}/dk2-scratch" in removed
    assert gce.labelled(TAG, "dk2") == [] and not gce.state.disks


def test_snapshot_from_another_project_and_zone(gce: Emulator) -> None:
    other = gce_provider(GCE__PROJECT_ID="images-project")
    source = other.create_disk("golden", 30)
    other.snapshot_disk(source.disk_id, "golden-snap")
    provider = gce_provider(DISK__GCE_SNAPSHOT_PROJECT="images-project", DISK__DISK_ZONE="us-central1-b")
    disk = provider.create_disk("restored", None, snapshot="golden-snap")
    assert (disk.zone, disk.size_gb) == ("us-central1-b", 30)
    assert gce.state.disks[(PROJECT, "us-central1-b", "restored")]["sourceSnapshot"].endswith(
        "/projects/images-project/global/snapshots/golden-snap")
    provider.delete_disk(disk.disk_id)
    other.delete_disk(source.disk_id)
    other.delete_snapshot("golden-snap")


def test_disk_input_errors_are_clear(gce: Emulator) -> None:
    provider = gce_provider()
    with pytest.raises(ConfigError, match="needs a size"):
        provider.create_disk("nosize", None)
    with pytest.raises(ConfigError, match="disk name 'Bad_Name' is not valid"):
        provider.create_disk("Bad_Name", 10)
    with pytest.raises(ProviderError, match="global/snapshots/missing' was not found"):
        provider.create_disk("d1", None, snapshot="missing")
    with pytest.raises(ProviderError, match="Disk type 'pd-gold' does not exist"):
        provider.create_disk("d2", 10, disk_type="pd-gold")
    assert not gce.state.disks


def ehpc_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict | list:
    assert main([*argv, "--json"]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def test_ehpc_disk_commands(gce: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    gce_flags = ("--provider", "gce", "--gce-project-id", PROJECT)
    made = ehpc_json(capsys, "disk", "create", "tempdisk", "--size", "200", *gce_flags)
    assert [d["disk_id"] for d in made["disks"]] == [f"{ZONE}/tempdisk"]
    ehpc_json(capsys, "disk", "snapshot", "tempdisk", "markdups-data", *gce_flags)
    ehpc_json(capsys, "disk", "create", "markdups-copy", "--snapshot", "markdups-data", *gce_flags)
    listed = ehpc_json(capsys, "disk", "list", *gce_flags)
    assert sorted((d["name"], d["size_gb"]) for d in listed) == [("markdups-copy", 200), ("tempdisk", 200)]
    snapshots = ehpc_json(capsys, "disk", "list", "--snapshots", *gce_flags)
    assert [s["name"] for s in snapshots] == ["markdups-data"]
    ehpc_json(capsys, "disk", "delete", "tempdisk", "markdups-copy", *gce_flags)
    ehpc_json(capsys, "disk", "delete", "--snapshot", "markdups-data", *gce_flags)
    assert not gce.state.disks and not gce.state.snapshots
