"""Slurm accounting (ACCOUNTING = true): slurmdbd with MariaDB on the head, and finished jobs read
back from sacct by the adapter."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from elastichpc.orchestration.context import open_cluster

from ..conftest import have_local_cluster_support
from ..local.helpers import ROOT, Ehpc, leftovers, node_pids

reason = have_local_cluster_support() or (
    None if shutil.which("slurmdbd", path="/usr/sbin") and shutil.which("mysqld_safe")
    else "slurmdbd or mariadb-server is missing: run scripts/install-system-packages.sh all"
)
if reason:
    pytest.skip(reason, allow_module_level=True)


def test_accounting_remembers_finished_jobs_in_sacct(state_dir: Path) -> None:
    cli = Ehpc(state_dir, ROOT / state_dir.parent.name)
    name = "acct"
    pids: list[int] = []
    try:
        cli.create(name, 1, "--accounting")
        failed = cli.run("job", "submit", name, "--wait", "--", "exit 5", check=False)
        assert failed.returncode == 5
        job_id = failed.stderr.split("Submitted job ")[1].split()[0]
        # What the adapter reads once Slurm has forgotten the job: sacct, not the completion log.
        context = open_cluster(name)
        scheduler = context.scheduler
        sacct = context.shell.run(context.head, ["sacct", "-n", "-P", "-X", "-j", job_id,
                                                 "--format=JobID,State,ExitCode"]).stdout
        assert sacct == f"{job_id}|FAILED|5:0\n"
        result = context.shell.run(context.head, scheduler.finished_argv(job_id))
        assert "JobId=" not in result.stdout
        (info,) = scheduler.parse_finished(job_id, result.stdout)
        assert (info.job_id, info.state, info.exit_code) == (job_id, "failed", 5)
        assert info.nodes == f"{name}-node1"
        conf = context.shell.run(context.head, ["cat", "/etc/slurm/slurmdbd.conf"]).stdout
        assert "StoragePass" not in conf  # MariaDB trusts the slurm unix user: no password
        pids = node_pids(name)
    finally:
        pids = pids or node_pids(name)
        cli.run("cluster", "terminate", name, check=False)
        left = leftovers(name, cli.local_root, state_dir, pids)
        shutil.rmtree(cli.local_root, ignore_errors=True)
    assert left == []
