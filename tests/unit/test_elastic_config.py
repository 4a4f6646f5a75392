"""Autoscaled pools in the spec, the names of their nodes, and what Slurm and Grid Engine are told."""

from __future__ import annotations

import pytest

from elastichpc.bootstrap import ClusterLayout, NodeFacts
from elastichpc.bootstrap.sge import hostgroup_conf
from elastichpc.bootstrap.slurm import slurm_conf
from elastichpc.config import build_spec
from elastichpc.config.spec import Settings
from elastichpc.errors import ConfigError
from elastichpc.orchestration.plan import cloud_nodes, planned_pools
from elastichpc.schedulers.base import JobSpec
from elastichpc.schedulers.sge import GridEngine


def spec(**values: object):  # type: ignore[no-untyped-def]
    keys = {"name": "CLUSTERPREFIX", "size": "CLUSTERSIZE", "min": "MINNODES", "max": "MAXNODES"}
    return build_spec(Settings({("CLUSTER", keys[k]): v for k, v in {"name": "el", **values}.items()}))


def test_max_nodes_alone_starts_with_none() -> None:
    (pool,) = spec(max=3).pools
    assert (pool.count, pool.min_nodes, pool.max_nodes) == (0, 0, 3)
    assert cloud_nodes(spec(max=3)) == {"el-node1": "local", "el-node2": "local", "el-node3": "local"}


def test_size_is_the_minimum_and_cloud_names_follow_it() -> None:
    scaled = spec(size=1, max=3)
    assert scaled.pools[0].count == 1
    assert list(cloud_nodes(scaled)) == ["el-node2", "el-node3"]
    assert set(planned_pools(scaled)) == {"el-node1", "el-node2", "el-node3"}
    assert cloud_nodes(spec(size=2)) == {}


@pytest.mark.parametrize(("least", "most"), [(3, 2), (-1, 2), (0, 0)])
def test_bad_bounds_are_one_line(least: int, most: int) -> None:
    with pytest.raises(ConfigError, match="min-nodes"):
        spec(min=least, max=most)


def layout(scheduler: str, computes: int, cloud: int) -> ClusterLayout:
    nodes = [NodeFacts("el-head", "head", "10.0.0.10", 2, 1000)]
    nodes += [NodeFacts(f"el-node{i}", "compute", f"10.0.0.{10 + i}", 2, 1000)
              for i in range(1, computes + 1)]
    return ClusterLayout("el", scheduler, "/shared", "ehpcuser", nodes, b"k",
                         cloud=[NodeFacts(f"el-node{i}", "compute", "", 2, 1000)
                                for i in range(computes + 1, computes + cloud + 1)],
                         suspend_after_s=45)


def test_slurm_knows_cloud_nodes_and_powers_them() -> None:
    conf = slurm_conf(layout("slurm", 1, 2))
    assert "NodeName=el-node1 NodeAddr=10.0.0.11 CPUs=2 RealMemory=1000 State=UNKNOWN" in conf
    assert "NodeName=el-node2 CPUs=2 RealMemory=1000 State=CLOUD" in conf
    assert "SuspendTime=45" in conf and "SuspendExcNodes=el-node1" in conf
    assert "ResumeProgram=/etc/slurm/ehpc-resume" in conf
    assert "State=CLOUD" not in slurm_conf(layout("slurm", 2, 0))


def test_grid_engine_without_hosts_still_takes_jobs() -> None:
    assert hostgroup_conf(layout("sge", 0, 2)) == "group_name @allhosts\nhostlist NONE\n"
    argv = GridEngine().submit(JobSpec(["true"]), "/shared/jobs").argv
    assert argv[:2] == ["bash", "-c"] and argv[3] == "qsub" and "-terse" in argv
