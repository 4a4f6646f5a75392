"""Software on every node of a local Slurm cluster: `--packages` at create, `ehpc cluster install`
on the live cluster (recorded, slurmd restarted under a running job), a node added later, a
Python venv in the shared home, and a package that does not exist (one line, nothing made).

Local nodes run this machine's /usr: the packages are installed here, and left installed."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from elastichpc.config import ClusterSpec
from elastichpc.state import Journal

from .helpers import ROOT, Ehpc, leftovers

NAME = "swsoft"
AT_CREATE, LATER = "figlet", "hello"  # small, and not installed by install-system-packages.sh


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ehpc]:
    state = tmp_path_factory.mktemp("state")
    ehpc = Ehpc(state, ROOT / f"sw-{state.parent.name}")
    try:
        ehpc.create(NAME, 1, "--packages", AT_CREATE)
        yield ehpc
    finally:
        ehpc.run("cluster", "terminate", NAME, check=False)
        assert leftovers(NAME, ehpc.local_root, state, []) == []
        shutil.rmtree(ehpc.local_root, ignore_errors=True)


def as_user(ehpc: Ehpc, command: str, node: str = "", check: bool = True) -> str:
    where = [node] if node else []
    return ehpc.run("ssh", NAME, *where, "--user", "ehpcuser", "--", "bash", "-lc", command,
                    timeout=120, check=check).stdout


def recorded(ehpc: Ehpc) -> list[str]:
    journal = Journal(Path(ehpc.env["EHPC_STATE_DIR"]))
    row = journal.get_cluster(NAME)
    journal.close()
    assert row is not None
    return ClusterSpec.from_public(row.spec).packages


def test_package_from_create_runs_in_a_job(cluster: Ehpc) -> None:
    assert "|_" in as_user(cluster, f"srun -N1 -w {NAME}-node1 figlet hi")  # figlet's "h"
    assert recorded(cluster) == [AT_CREATE]


def test_install_on_the_live_cluster(cluster: Ehpc) -> None:
    slurmd = ["ssh", NAME, "node1", "--", "cat", "/run/slurmd.pid"]
    before = cluster.run(*slurmd).stdout.strip()
    job = as_user(cluster, "sbatch --parsable -o /shared/jobs/survivor.out "
                           "--wrap 'sleep 8; echo survived'").strip()
    time.sleep(2)  # running when slurmd restarts
    out = cluster.run("cluster", "install", NAME, LATER, "--json").stdout
    assert json.loads(out)["packages"] == [AT_CREATE, LATER]
    assert cluster.run(*slurmd).stdout.strip() != before  # restarted: it finds new libraries
    assert "Hello, world!" in as_user(cluster, f"srun -N1 -w {NAME}-node1 hello")
    assert recorded(cluster) == [AT_CREATE, LATER]
    # the head agent's copy of the settings (it builds the scripts of the nodes it adds)
    agent = cluster.run("ssh", NAME, "--", "python3", "-c", AGENT_SPEC).stdout
    assert json.loads(agent) == [AT_CREATE, LATER]
    deadline = time.monotonic() + 60
    while "survived" not in as_user(cluster, "cat /shared/jobs/survivor.out 2>/dev/null || true"):
        assert time.monotonic() < deadline, f"job {job} did not survive slurmd's restart"
        time.sleep(1)
    state = as_user(cluster, f"scontrol show job {job} | grep -o 'JobState=[A-Z]*'").strip()
    assert state == "JobState=COMPLETED"


AGENT_SPEC = ("import json, sqlite3; db = sqlite3.connect('/var/lib/ehpc-agent/state/state.db'); "
              "spec = json.loads(db.execute('SELECT spec FROM clusters').fetchone()[0]); "
              "print(json.dumps(spec['settings']['SOFTWARE']['PACKAGES']))")


def test_node_added_later_has_them(cluster: Ehpc) -> None:
    cluster.run("cluster", "resize", NAME, "--add", "1", timeout=300)
    assert "Hello, world!" in as_user(cluster, f"srun -N1 -w {NAME}-node2 hello")
    assert "|_" in as_user(cluster, f"srun -N1 -w {NAME}-node2 figlet hi")


def test_venv_in_the_shared_home(cluster: Ehpc) -> None:
    site = "$(~/venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()[\"purelib\"])')"
    as_user(cluster, "rm -rf ~/venv && python3 -m venv ~/venv && "
                     f"printf 'def answer():\\n    return 42\\n' > {site}/ehpcmod.py")
    out = as_user(cluster, f"srun -N1 -w {NAME}-node1 ~/venv/bin/python -c "
                           + shlex.quote("import ehpcmod, socket, sys; "
                                         "print(ehpcmod.answer(), socket.gethostname(), sys.prefix)"))
    answer, host, prefix = out.split()
    assert (answer, host) == ("42", f"{NAME}-node1")
    assert prefix.endswith("/ehpcuser/venv")


def test_unknown_package_says_one_line(cluster: Ehpc) -> None:
    bad = cluster.run("cluster", "install", NAME, "no-such-package-ehpc", check=False)
    assert bad.returncode != 0
    assert bad.stderr.strip().count("\n") == 0 and "no-such-package-ehpc" in bad.stderr
    assert recorded(cluster) == [AT_CREATE, LATER]


@pytest.mark.parametrize("packages, code", [("no-such-package-ehpc", 2), ("Not_A_Name", 2)])
def test_create_with_a_bad_package_makes_nothing(cluster: Ehpc, packages: str, code: int) -> None:
    result = cluster.create("swbad", 1, "--packages", f"figlet,{packages}", check=False)
    assert result.returncode == code, result.stderr
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert packages in result.stderr
    journal = Journal(Path(cluster.env["EHPC_STATE_DIR"]))
    assert journal.get_cluster("swbad") is None
    journal.close()
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert "ehpc.swbad." not in netns
