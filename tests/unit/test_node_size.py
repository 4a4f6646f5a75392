"""[LOCAL] NODE_CPUS and NODE_MEMORY: refused when not above 0, and, once a provider reports a
node's size, what slurm.conf and Grid Engine's queue give it (the probe's numbers otherwise)."""

from __future__ import annotations

from pathlib import Path

import pytest

from elastichpc.bootstrap import ClusterLayout
from elastichpc.bootstrap.sge import queue_conf
from elastichpc.bootstrap.slurm import slurm_conf
from elastichpc.config import load_settings
from elastichpc.errors import ConfigError
from elastichpc.orchestration.join import node_facts
from elastichpc.providers import Machine

PROBE = "2\n24000\n"  # what the node shows: nproc, MemTotal in MB


def machine(name: str, role: str, **extra: object) -> Machine:
    return Machine(name, role, f"ehpc.sz.{name}", "10.201.9.2", "10.201.9.2", "running", "root",
                   extra=dict(extra))


def layout(scheduler: str, **extra: object) -> ClusterLayout:
    facts = [node_facts(machine("sz-head", "head", **extra), PROBE),
             node_facts(machine("sz-node1", "compute", **extra), PROBE)]
    return ClusterLayout("sz", scheduler, "/shared", "ehpcuser", facts, b"k" * 32)


def test_the_provider_size_reaches_slurm_conf_and_grid_engine() -> None:
    conf = slurm_conf(layout("slurm", cpus=1, memory_mb=700))
    assert "NodeName=sz-node1 NodeAddr=10.201.9.2 CPUs=1 RealMemory=700 State=UNKNOWN" in conf
    assert "slots                1,[sz-node1=1]" in queue_conf(layout("sge", cpus=1, memory_mb=700))


def test_without_a_size_the_node_probe_is_used() -> None:
    conf = slurm_conf(layout("slurm"))
    assert "NodeName=sz-node1 NodeAddr=10.201.9.2 CPUs=2 RealMemory=21600 State=UNKNOWN" in conf


@pytest.mark.parametrize("key", ["NODE_CPUS", "NODE_MEMORY"])
@pytest.mark.parametrize("value", ["0", "-2"])
def test_sizes_must_be_above_zero(tmp_path: Path, key: str, value: str) -> None:
    conf = tmp_path / "cluster.conf"
    conf.write_text(f"[LOCAL]\n{key} = {value}\n")
    with pytest.raises(ConfigError) as err:
        load_settings(conf)
    assert str(err.value) == f"{conf}:2: [LOCAL] {key}: expected a whole number above 0, got '{value}'"
