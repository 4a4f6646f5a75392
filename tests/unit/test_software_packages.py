"""[SOFTWARE] PACKAGES: parsed, recorded with the cluster, and installed by the configure script
of a cloud node that joins later (built, as resize, autoscale, repair and the head agent build
it, from the journal's recorded spec)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from elastichpc.bootstrap import configure_script, install_script
from elastichpc.bootstrap.layout import NodeFacts
from elastichpc.config import ClusterSpec, build_spec, load_settings
from elastichpc.errors import ConfigError
from elastichpc.orchestration.fleet import Fleet
from elastichpc.orchestration.join import cluster_layout
from elastichpc.providers import Machine
from elastichpc.remote import ClusterKeys
from elastichpc.state import Journal


def aws_spec(packages: str) -> ClusterSpec:
    return build_spec(load_settings(None, {("CLUSTER", "PROVIDER"): "aws",
                                           ("SOFTWARE", "PACKAGES"): packages}), name="swunit")


def test_spaces_and_commas_one_list_without_repeats() -> None:
    assert aws_spec("bwa samtools, bwa,,python3-numpy").packages == ["bwa", "samtools",
                                                                     "python3-numpy"]


@pytest.mark.parametrize("bad", ["Bwa", "bwa;reboot", "-y", "x"])
def test_not_a_package_name(bad: str) -> None:
    with pytest.raises(ConfigError, match="not a Debian package name"):
        aws_spec(f"samtools {bad}")


def test_a_later_nodes_script_installs_the_recorded_packages(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "state")
    spec = aws_spec("bwa")
    journal.add_cluster(spec.name, "aws", "running", spec.to_public())
    spec.settings.put("SOFTWARE", "PACKAGES", ["bwa", "samtools"], "ehpc cluster install")
    journal.set_spec(spec.name, spec.to_public(), "packages: bwa samtools")
    row = journal.get_cluster(spec.name)
    assert row is not None
    later = ClusterSpec.from_public(row.spec)  # what resize and the agent start from
    machines = [Machine("swunit-head", "head", "i-1", "192.0.2.10", "10.0.0.10", "running", "admin"),
                Machine("swunit-node3", "compute", "i-3", "", "10.0.0.13", "running", "admin")]
    facts = [NodeFacts(m.name, m.role, m.private_address, 2, 4000) for m in machines]
    (tmp_path / "keys").mkdir()
    keys = ClusterKeys(tmp_path / "keys", spec.name)
    layout = cluster_layout(later, Fleet(later), keys, facts, machines)
    script = configure_script(layout, facts[1])
    assert "EHPC_PACKAGES='bwa samtools'" in script
    assert "\nehpc_software\n" in script
    journal.close()


def test_install_script_restarts_slurmd_on_compute_nodes_only() -> None:
    assert install_script("slurm", "compute", ["bwa"]).rstrip().endswith("ehpc_slurm_restart")
    assert install_script("slurm", "head", ["bwa"]).rstrip().endswith("ehpc_software")
    assert install_script("sge", "compute", ["bwa"]).rstrip().endswith("ehpc_software")


def test_install_script_skips_what_is_installed() -> None:
    """The script's own check (dpkg-query) on this machine: nothing to install, no apt-get."""
    script = install_script("sge", "compute", ["bash", "coreutils"])
    result = subprocess.run(["bash", "-s"], input=script, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "installing" not in result.stderr
