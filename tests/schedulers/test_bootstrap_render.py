"""The configure scripts of every scheduler render to valid bash for both roles, with the
scheduler's files (queue, host group, slurm.conf, slurmdbd.conf) inside."""

from __future__ import annotations

import base64
import re
import subprocess

import pytest

from elastichpc.bootstrap import ClusterLayout, NodeFacts, configure_script


def _layout(scheduler: str, accounting: bool = False) -> ClusterLayout:
    nodes = [NodeFacts("demo-head", "head", "10.201.1.10", 2, 1800)]
    nodes += [NodeFacts(f"demo-node{i}", "compute", f"10.201.1.{10 + i}", 4, 3600) for i in (1, 2)]
    return ClusterLayout("demo", scheduler, "/shared", "ehpcuser", nodes, b"k" * 32, accounting)


def _files(script: str) -> dict[str, str]:
    found = re.findall(r"^(EHPC_[A-Z_]+)=(\S+)$", script, flags=re.MULTILINE)
    return {key: base64.b64decode(value.strip("'")).decode(errors="replace") for key, value in found
            if key.endswith(("_CONF", "_QUEUE", "_HOSTGROUP", "_PE", "_EXECS", "_MASTER"))}


@pytest.mark.parametrize("scheduler", ["slurm", "sge", "pbs"])
@pytest.mark.parametrize("node", [0, 1])
def test_configure_script_is_valid_bash(scheduler: str, node: int) -> None:
    layout = _layout(scheduler)
    script = configure_script(layout, layout.nodes[node])
    check = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    step, clients = script.rstrip().splitlines()[-2:]
    assert step == {"slurm": ["ehpc_slurm_head", "ehpc_slurm_compute"],
                    "sge": ["ehpc_sge_head", "ehpc_sge_compute"],
                    "pbs": ["ehpc_pbs_head", "ehpc_slurm_compute"]}[scheduler][node]
    # then the clients' step; the Snakemake profile only where jobs run on Slurm
    assert clients == "ehpc_clients"
    assert ("EHPC_SNAKEMAKE_PROFILE=" in script) == (scheduler != "sge")


def test_grid_engine_files_give_each_host_its_cpus() -> None:
    layout = _layout("sge")
    files = _files(configure_script(layout, layout.head))
    assert "slots                1,[demo-node1=4],[demo-node2=4]" in files["EHPC_SGE_QUEUE"]
    assert "pe_list              smp" in files["EHPC_SGE_QUEUE"]
    assert files["EHPC_SGE_HOSTGROUP"] == "group_name @allhosts\nhostlist demo-node1 demo-node2\n"
    assert files["EHPC_SGE_EXECS"] == "demo-node1,demo-node2"
    assert files["EHPC_SGE_MASTER"] == "demo-head"


def test_accounting_adds_slurmdbd_without_a_password() -> None:
    plain = _files(configure_script(_layout("slurm"), _layout("slurm").head))
    assert "AccountingStorageType=accounting_storage/none" in plain["EHPC_SLURM_CONF"]
    assert "EHPC_SLURMDBD_CONF" not in plain
    layout = _layout("slurm", accounting=True)
    files = _files(configure_script(layout, layout.head))
    assert "AccountingStorageType=accounting_storage/slurmdbd" in files["EHPC_SLURM_CONF"]
    assert "AccountingStorageHost=10.201.1.10" in files["EHPC_SLURM_CONF"]
    assert "DbdAddr=10.201.1.10" in files["EHPC_SLURMDBD_CONF"]
    assert "Pass" not in files["EHPC_SLURMDBD_CONF"]
