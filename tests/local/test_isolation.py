"""Two live local clusters under two ROOT_DIRs: a job on one reaches nothing of the other (files,
processes, System V IPC), nor the host's /root, no owner but root shares a uid with the other,
and terminating one never takes the other's shared directory away."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from elastichpc.providers.local.nodefs import _seen_in_node

from .helpers import ROOT, Ehpc

A, B = "hl-iso-a", "hl-iso-b"


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Ehpc, Ehpc]]:
    made = []
    for name in (A, B):
        state = tmp_path_factory.mktemp(f"state-{name}")
        cli = Ehpc(state, ROOT / f"{state.parent.name}-{name}")  # one ROOT_DIR each
        made.append(cli)
        cli.create(name, 1)
    yield made[0], made[1]
    for cli, name in zip(made, (A, B), strict=True):
        cli.run("cluster", "terminate", name, check=False)
        shutil.rmtree(cli.local_root, ignore_errors=True)


def job(cli: Ehpc, name: str, command: str) -> str:
    """Run `command` as a job of the cluster user; its output (the job may fail)."""
    return cli.run("job", "submit", name, "--wait", "--", command, check=False).stdout


def test_a_job_reaches_nothing_of_another_cluster_or_the_host(pair: tuple[Ehpc, Ehpc]) -> None:
    a, b = pair
    b_shared = b.local_root / B / "shared" / "jobs"
    assert job(b, B, "echo b-secret > /shared/jobs/secret; id -u") != job(a, A, "id -u")
    assert (b_shared / "secret").read_text() == "b-secret\n"
    b.run("job", "submit", B, "--", "sleep 60")  # a process of B's user to aim at through /proc
    b_segment = job(b, B, "ipcmk -M 4096").split()[-1]  # System V shared memory, left behind
    marker = Path("/root") / f".ehpc-isolation-{os.getpid()}"
    marker.write_text("host only\n")
    try:
        out = job(a, A, " ; ".join([
            f"ls {b.local_root} && echo SEEN-B-ROOT",
            f"cat {b_shared}/secret && echo READ-B",
            f"echo x >> {b_shared}/secret && echo WROTE-B",
            "cat /proc/[0-9]*/root/shared/jobs/secret 2>/dev/null | grep -q b-secret && echo PROC-B",
            f"cat {marker} && echo READ-HOST-ROOT",
            "ls /root && echo LISTED-HOST-ROOT",
            f"ls {a.env['EHPC_STATE_DIR']} && echo SEEN-STATE",
            f"ipcs -m | grep -q {b_segment} && echo SEEN-B-IPC",
            # Only its own processes in /proc: no other user's (B's, the host's), nor root's.
            "ps -e -o uid= | sort -u | tr -d ' ' | grep -vx $(id -u) && echo SEEN-OTHERS",
            "ps -e -o pid= | wc -l | sed 's/^/OWN-PROCESSES=/'",
            "echo done",
        ]))
        assert "done" in out.splitlines(), out
        for leak in ("SEEN-B-ROOT", "READ-B", "WROTE-B", "PROC-B", "READ-HOST-ROOT",
                     "LISTED-HOST-ROOT", "SEEN-STATE", "SEEN-B-IPC", "SEEN-OTHERS"):
            assert leak not in out, out
        assert int(out.split("OWN-PROCESSES=")[1].split()[0]) > 0, out  # ps did list its own
        # Not even root in a node sees the host's /root.
        assert a.run("ssh", A, "--", f"cat {marker}", check=False).returncode != 0
    finally:
        marker.unlink()
        b.run("job", "cancel", B, "2", check=False)
        job(b, B, f"ipcrm -M {b_segment}")
    assert (b_shared / "secret").read_text() == "b-secret\n"


def test_no_owner_but_the_hosts_root_reaches_another_cluster(pair: tuple[Ehpc, Ehpc]) -> None:
    """Users every local cluster shares (munge, slurm, the host's own) never run a job: only
    system (the host's root), ubuntu and the cluster user run directly, each but root with a
    uid of its cluster's own."""
    a, b = pair
    for owner in ("munge", "slurm", "nobody"):
        out = a.run("job", "submit", A, "--owner", owner, "--direct", "--", "id", check=False)
        assert out.returncode == 2 and out.stdout == "", out
        assert out.stderr.strip().splitlines()[-1].startswith(
            f"ehpc: error: --owner {owner} --direct: on a local cluster only system, ubuntu and "), out
    uids = {}
    for cli, name in ((a, A), (b, B)):
        for owner in ("ubuntu", "ehpcuser"):
            ran = cli.run("job", "submit", name, "--owner", owner, "--direct", "--", "id", "-u")
            uids[name, owner] = int(ran.stdout)
    assert len(set(uids.values())) == 4, uids  # no uid of one cluster is the other's
    assert uids[A, "ubuntu"] == uids[A, "ehpcuser"] + 20000, uids


def test_nodes_run_the_clients_python_read_only(pair: tuple[Ehpc, Ehpc]) -> None:
    a, _ = pair
    python = Path(sys.executable).resolve()
    assert job(a, A, f"{python} -c 'import elastichpc; print(1)'") == "1\n"
    if not _seen_in_node(python):  # lent from where nodes see nothing else (here: /root/.pyenv)
        out = a.run("ssh", A, "--", f"mkdir {python.parent}/x", check=False)  # as root
        assert "Read-only file system" in out.stderr


def test_a_name_taken_under_another_root_is_refused(pair: tuple[Ehpc, Ehpc]) -> None:
    a, b = pair
    out = b.run("cluster", "create", "--name", A, "--size", "1", "--local-root-dir",
                str(b.local_root), check=False)
    assert out.returncode != 0
    assert out.stderr.strip().splitlines()[-1] == (
        f"ehpc: error: a local cluster named {A} already exists on this machine under another "
        f"ROOT_DIR than {b.local_root}: pick another name")
    out = b.run("cluster", "terminate", A, "--local-root-dir", str(b.local_root), check=False)
    assert out.stderr.strip().splitlines()[-1].startswith(
        f"ehpc: error: local cluster {A} lives under ROOT_DIR {a.local_root}, not {b.local_root}: "
        f"terminate it with --local-root-dir {a.local_root}")
    assert job(a, A, "hostname") == f"{A}-node1\n"  # untouched


def test_terminating_one_cluster_keeps_the_others_shared_dir(pair: tuple[Ehpc, Ehpc]) -> None:
    a, b = pair
    loop = ("for i in $(seq 40); do echo $i >> /shared/jobs/load || exit 3; sleep 0.1; done; "
            "wc -l < /shared/jobs/load")
    running = subprocess.Popen(
        [sys.executable, "-m", "elastichpc", "job", "submit", A, "--wait", "--", loop],
        env=a.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    load = a.local_root / A / "shared" / "jobs" / "load"
    deadline = time.monotonic() + 60
    while not load.exists():  # the job is writing
        assert running.poll() is None and time.monotonic() < deadline
        time.sleep(0.1)
    b.run("cluster", "terminate", B)
    out, err = running.communicate(timeout=120)
    assert (running.returncode, out) == (0, "40\n"), err
    assert job(a, A, "touch /shared/jobs/after && echo ok") == "ok\n"
