"""How [GLUSTERFS] settings become a volume, and how the disk step's report is read."""

from __future__ import annotations

from pathlib import Path

import pytest

from elastichpc.bootstrap.storage import DiskMount
from elastichpc.config import Settings, load_settings
from elastichpc.errors import ConfigError
from elastichpc.orchestration.disks import disk_names
from elastichpc.orchestration.storage import gluster_volume
from elastichpc.providers import Machine


@pytest.fixture(autouse=True)
def no_cluster_conf(state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(state_dir.parent)  # no ./cluster.conf is read


def machines(computes: int) -> list[Machine]:
    head = Machine("c-head", "head", "h", "10.0.0.1", "10.0.0.1", "running", "root")
    return [head] + [
        Machine(f"c-node{i}", "compute", f"n{i}", f"10.0.0.{10 + i}", f"10.0.0.{10 + i}",
                "running", "root")
        for i in range(1, computes + 1)
    ]


def settings(**glusterfs: str) -> Settings:
    return load_settings(None, {("GLUSTERFS", key): value for key, value in glusterfs.items()})


def test_replica_sets_take_whole_pairs_and_say_who_holds_no_brick() -> None:
    volume, notes = gluster_volume(settings(REPLICATE="2"), machines(3))
    assert volume.layout == ["replica", "2"]
    assert volume.bricks == ["10.0.0.11:/var/spool/ehpc-bricks/gv0",
                             "10.0.0.12:/var/spool/ehpc-bricks/gv0"]
    assert notes == ["REPLICATE=2 takes bricks in sets of 2: c-node3 holds no brick "
                     "(it still mounts the volume)"]
    assert volume.hosts.splitlines()[0] == "10.0.0.1 c-head"


def test_stripe_is_a_distributed_volume_with_a_note() -> None:
    volume, notes = gluster_volume(settings(STRIPE="2", VOLUME_NAME="data", BRICK_DIR="/b"), machines(2))
    assert (volume.layout, volume.bricks) == ([], ["10.0.0.11:/b/data", "10.0.0.12:/b/data"])
    assert notes[0].startswith("GlusterFS 6+ has no striping: STRIPE=2 gives a distributed volume")


def test_too_few_compute_nodes_is_one_clear_line() -> None:
    with pytest.raises(ConfigError, match=r"^\[GLUSTERFS\] REPLICATE=2 STRIPE=2 needs 4 compute nodes"):
        gluster_volume(settings(REPLICATE="2", STRIPE="2"), machines(3))


def test_disk_number_names_and_the_disk_report() -> None:
    assert disk_names("data", 1) == ["data"]
    assert disk_names("data", 3) == ["data-1", "data-2", "data-3"]
    with pytest.raises(ConfigError):
        disk_names("data", 0)
    report = "noise\nehpc-disk /data xfs 1234-ab 1000 10 990\n"
    assert DiskMount.parse(report) == DiskMount("/data", "xfs", "1234-ab", 1000, 10, 990)
    assert DiskMount.parse("nothing here") is None


@pytest.mark.parametrize("provider", ["local", "aws", "gce", "azure"])
def test_clouds_put_the_shared_directory_on_nfs_from_the_head_by_default(provider: str) -> None:
    from elastichpc.config import load_spec
    from elastichpc.orchestration.storage import create_time_storage

    def plan(**keys: str) -> str:
        overrides = {("CLUSTER", "PROVIDER"): provider, ("CLUSTER", "CLUSTER_PREFIX"): "cfp",
                     **{tuple(k.split("__")): v for k, v in keys.items()}}
        spec = load_spec(overrides=overrides)  # type: ignore[arg-type]
        return create_time_storage(spec)

    default = "" if provider == "local" else "shared directory /shared on NFS from the head"
    assert plan() == default  # the local provider bind-mounts one host directory instead
    assert plan(CLUSTER__NFS="true") == "shared directory /shared on NFS from the head"
    assert plan(CLUSTER__GLUSTER="true") == "shared directory /shared on GlusterFS"
