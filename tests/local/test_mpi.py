"""MPI on a fresh local Slurm cluster: Open MPI with PMIx on every node (MpiDefault=pmix), an
allreduce compiled with mpicc on the head, run by `srun` without flags and by `mpirun` inside a
batch job, and the cluster user's passwordless SSH between all nodes."""

from __future__ import annotations

import shlex
import shutil
from collections.abc import Iterator

import pytest

from ..mpi import ALLREDUCE, check_ranks
from .helpers import ROOT, Ehpc, leftovers

NAME = "swmpi"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ehpc]:
    state = tmp_path_factory.mktemp("state")
    ehpc = Ehpc(state, ROOT / f"sw-{state.parent.name}")
    try:
        ehpc.create(NAME, 2)
        yield ehpc
    finally:
        ehpc.run("cluster", "terminate", NAME, check=False)
        assert leftovers(NAME, ehpc.local_root, state, []) == []
        shutil.rmtree(ehpc.local_root, ignore_errors=True)


def as_user(ehpc: Ehpc, command: str, node: str = "") -> str:
    """`command` in a login shell of the cluster user, on the head (or `node`)."""
    where = [node] if node else []
    return ehpc.run("ssh", NAME, *where, "--user", "ehpcuser", "--",
                    "bash", "-lc", command, timeout=120).stdout


@pytest.fixture(scope="module")
def program(cluster: Ehpc) -> str:
    """The allreduce, compiled on the head into the shared directory."""
    as_user(cluster, f"mkdir -p /shared/mpi && cd /shared/mpi && printf %s {shlex.quote(ALLREDUCE)} "
                     "> allreduce.c && mpicc -O2 -o allreduce allreduce.c")
    return "/shared/mpi/allreduce"


def test_pmix_is_the_default(cluster: Ehpc) -> None:
    assert "MpiDefault=pmix" in as_user(cluster, "scontrol show config | grep -i MpiDefault").replace(" ", "")
    assert "pmix" in as_user(cluster, "srun --mpi=list 2>&1")


def test_srun_without_flags(cluster: Ehpc, program: str) -> None:
    check_ranks(as_user(cluster, f"cd /shared/mpi && srun -N2 -n4 {program}"), NAME)


def test_sbatch_with_mpirun(cluster: Ehpc, program: str) -> None:
    out = as_user(cluster, "cd /shared/mpi && sbatch --wait -N2 -n4 -o mpirun.out "
                           f"--wrap 'mpirun {program}' && cat mpirun.out")
    check_ranks(out, NAME)


def test_cluster_user_ssh_between_nodes(cluster: Ehpc) -> None:
    options = "-o BatchMode=yes"  # a prompt of any kind fails instead of waiting
    for node in ("node1", "node2"):
        assert as_user(cluster, f"ssh {options} {NAME}-{node} hostname").strip() == f"{NAME}-{node}"
    assert as_user(cluster, f"ssh {options} {NAME}-node2 hostname", node="node1").strip() == f"{NAME}-node2"
    assert as_user(cluster, f"ssh {options} {NAME}-head hostname", node="node2").strip() == f"{NAME}-head"
    # by address too (mpirun and tools may use either)
    address = as_user(cluster, f"getent hosts {NAME}-node1").split()[0]
    assert as_user(cluster, f"ssh {options} {address} hostname", node="node2").strip() == f"{NAME}-node1"
