"""The tools users run against our clusters (Snakemake, psij, dask-jobqueue, DRMAA), for real:
they run on a local cluster's head as the cluster user, with this interpreter (which has them)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..conftest import have_local_cluster_support
from ..local.helpers import ROOT, Ehpc, leftovers, node_pids

RUN = Path(__file__).resolve().parents[2] / "examples" / "clients" / "run.sh"

CLIENTS = ("snakemake", "snakemake_executor_plugin_slurm", "snakemake_executor_plugin_cluster_generic",
           "psij", "dask_jobqueue", "drmaa")

reason = have_local_cluster_support()
missing = [name for name in CLIENTS if importlib.util.find_spec(name) is None]
if not reason and missing:
    reason = f"missing client packages {missing}: pip install -e '.[test]'"
if reason:
    pytest.skip(reason, allow_module_level=True)


class Cluster:
    def __init__(self, cli: Ehpc, name: str) -> None:
        self.cli, self.name = cli, name

    def on_head(self, command: str, timeout: float = 60, node: str | None = None,
                check: bool = True, input: str = "") -> subprocess.CompletedProcess[str]:
        """A shell command line on the head (or `node`), as the cluster user."""
        proc = subprocess.run(
            [sys.executable, "-m", "elastichpc", "ssh", self.name, *([node] if node else []),
             "--user", "ehpcuser", "--", command],
            input=input, env=self.cli.env, text=True, capture_output=True, timeout=timeout)
        if check:
            assert proc.returncode == 0, f"{command}: {proc.stdout}{proc.stderr}"
        return proc

    def put(self, text: str, path: str) -> None:
        self.on_head(f"cat > {path}", input=text)

    def example(self, example: str, timeout: float, snakemake_args: str = "",
                ) -> subprocess.CompletedProcess[str]:
        env = {**self.cli.env, "EHPC": f"{sys.executable} -m elastichpc",
               "EHPC_CLIENT_PYTHON": sys.executable, "SNAKEMAKE_ARGS": snakemake_args}
        return subprocess.run(["bash", str(RUN), self.name, example], env=env, capture_output=True,
                              text=True, timeout=timeout)


@pytest.fixture(scope="package")
def clusters(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Cluster]]:
    """cl-slurm (accounting, the default), cl-noacct (ACCOUNTING = false), cl-sge."""
    state = tmp_path_factory.mktemp("state")
    cli = Ehpc(state, ROOT / f"cl-clients-{os.getpid()}")
    made = {"cl-slurm": (), "cl-noacct": ("--accounting", "false"), "cl-sge": ("--scheduler", "sge")}
    pids: list[int] = []
    try:
        procs = {name: subprocess.Popen(
            [sys.executable, "-m", "elastichpc", "cluster", "create", "--name", name, "--size", "2",
             "--local-root-dir", str(cli.local_root), *extra],
            env=cli.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for name, extra in made.items()}
        for name, proc in procs.items():
            out, _ = proc.communicate(timeout=300)
            assert proc.returncode == 0, f"create {name}: {out}"
        found = {name: Cluster(cli, name) for name in made}
        # The clients run with this interpreter: the cluster user must be able to run it in a node.
        usable = found["cl-slurm"].on_head(f"{sys.executable} -c 'import snakemake'", check=False)
        assert usable.returncode == 0, f"{sys.executable} unusable by the cluster user: {usable.stderr}"
        pids = [pid for name in made for pid in node_pids(name)]
        yield found
    finally:
        for name in made:
            cli.run("cluster", "terminate", name, check=False)
        left = [item for name in made for item in leftovers(name, cli.local_root, state, pids)]
        shutil.rmtree(cli.local_root, ignore_errors=True)
        assert left == []
