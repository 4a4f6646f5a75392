"""A 3-node local cluster through the CLI: create, jobs on every node, logs, cancel, direct
commands, exact command lines, pinned host keys, and a terminate that leaves nothing."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .helpers import ROOT, Ehpc, alive, cmdline, leftovers, node_pids

NAME = "lc3"


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ehpc]:
    state = tmp_path_factory.mktemp("state")
    ehpc = Ehpc(state, ROOT / state.parent.name)
    created = ehpc.create(NAME, 3)
    assert "is ready" in created.stdout
    yield ehpc
    ehpc.run("cluster", "terminate", NAME, check=False)
    shutil.rmtree(ehpc.local_root, ignore_errors=True)


def test_cluster_and_nodes_are_listed(cli: Ehpc) -> None:
    (cluster,) = [c for c in cli.json("cluster", "list") if c["name"] == NAME]
    assert (cluster["provider"], cluster["size"], cluster["status"]) == ("local", 3, "running")
    nodes = cli.json("nodes", "list", NAME)
    assert [n["name"] for n in nodes] == [f"{NAME}-head", f"{NAME}-node1", f"{NAME}-node2", f"{NAME}-node3"]
    assert all(n["state"] == "running" for n in nodes)
    assert [n["scheduler_state"] for n in nodes[1:]] == ["idle"] * 3
    assert len({n["address"] for n in nodes}) == 4
    table = cli.run("nodes", "list", NAME).stdout
    assert table.splitlines()[0].split() == ["NAME", "ROLE", "PROVIDER", "REGION", "MARKET", "ADDRESS",
                                         "OVERLAY", "STATE", "SCHEDULER"]


def test_array_job_runs_on_every_compute_node(cli: Ehpc) -> None:
    out = cli.run("job", "submit", NAME, "--array", "1-12", "--cpus", "1", "--wait", "--",
                  "sleep 1; echo task $SLURM_ARRAY_TASK_ID on $(hostname)")
    lines = out.stdout.splitlines()
    assert sorted(int(line.split()[1]) for line in lines) == list(range(1, 13))
    assert {line.split()[-1] for line in lines} == {f"{NAME}-node{i}" for i in (1, 2, 3)}


def test_submit_status_and_logs(cli: Ehpc) -> None:
    job_id = cli.run("job", "submit", NAME, "--job-name", "hello", "--", "hostname").stdout.strip()
    assert job_id.isdigit()
    assert cli.run("job", "wait", NAME, job_id).returncode == 0
    (info,) = cli.json("job", "status", NAME, job_id)
    assert (info["state"], info["exit_code"], info["name"]) == ("completed", 0, "hello")
    logs = cli.json("job", "logs", NAME, job_id)
    assert logs[0]["path"] == f"/shared/jobs/hello-{job_id}.out"
    assert logs[0]["text"].strip() == info["nodes"]


def test_commands_reach_the_job_exactly_as_given(cli: Ehpc) -> None:
    out = cli.run("job", "submit", NAME, "--wait", "--", "printf", "%s|", "a;b", "$HOME", "it's", '"q"', "*")
    assert out.stdout == "a;b|$HOME|it's|\"q\"|*|"
    line = cli.run("job", "submit", NAME, "--wait", "--command", "X='a b'; echo \"$X\" | tr a-z A-Z")
    assert line.stdout == "A B\n"


def test_failing_job_shows_its_exit_code(cli: Ehpc) -> None:
    out = cli.run("job", "submit", NAME, "--wait", "--", "echo partial; exit 7", check=False)
    assert out.returncode == 7
    assert out.stdout == "partial\n"
    assert "exit code 7" in out.stderr


def test_cancel_a_running_job(cli: Ehpc) -> None:
    job_id = cli.run("job", "submit", NAME, "--", "sleep", "3001").stdout.strip()
    deadline = time.monotonic() + 30
    while cli.json("job", "status", NAME, job_id)[0]["state"] != "running":
        assert time.monotonic() < deadline
        time.sleep(0.3)
    assert any(j["job_id"] == job_id for j in cli.json("job", "list", NAME))
    cli.run("job", "cancel", NAME, job_id)
    deadline = time.monotonic() + 30
    while cli.json("job", "status", NAME, job_id)[0]["state"] != "cancelled":
        assert time.monotonic() < deadline
        time.sleep(0.3)
    assert not [pid for pid in node_pids(NAME) if alive(pid) and cmdline(pid) == ["sleep", "3001"]]


def test_owner_system_runs_on_the_head_as_root(cli: Ehpc) -> None:
    out = cli.run("job", "submit", NAME, "--owner", "system", "--", "echo $(id -un)@$(hostname)")
    assert out.stdout == f"root@{NAME}-head\n"
    direct = cli.run("job", "submit", NAME, "--owner", "ehpcuser", "--direct", "--", "id", "-un")
    assert direct.stdout == "ehpcuser\n"
    failing = cli.run("job", "submit", NAME, "--owner", "system", "--", "exit 5", check=False)
    assert failing.returncode == 5


def test_input_files_and_local_scripts_are_staged(cli: Ehpc, tmp_path: Path) -> None:
    data = tmp_path / "seq.fa"
    data.write_text(">s1\nACGT\n")
    script = tmp_path / "count.sh"
    script.write_text("#!/bin/sh\ngrep -v '>' \"$1\" | tr -d '\\n' | wc -c\n")
    out = cli.run("job", "submit", NAME, "--input-files", str(data), "--wait", "--", str(script), "seq.fa")
    assert out.stdout.strip() == "4"


def test_ssh_reaches_nodes_with_pinned_host_keys(cli: Ehpc) -> None:
    assert cli.run("ssh", NAME, "node2", "--", "hostname").stdout == f"{NAME}-node2\n"
    assert cli.run("ssh", NAME, "--", "hostname").stdout == f"{NAME}-head\n"
    known = Path(cli.env["EHPC_STATE_DIR"]) / "clusters" / NAME / "known_hosts"
    original = known.read_text()
    other = next(line for line in original.splitlines() if line.startswith(f"{NAME}-node1 "))
    forged = [line if not line.startswith(f"{NAME}-node2 ") else f"{NAME}-node2 {other.split(' ', 1)[1]}"
              for line in original.splitlines()]
    known.write_text("\n".join(forged) + "\n")
    config = known.with_name("ssh_config")
    subprocess.run(["ssh", "-F", str(config), "-O", "exit", f"{NAME}-node2"], capture_output=True)
    try:
        refused = cli.run("ssh", NAME, "node2", "--", "hostname", check=False)
        assert refused.returncode == 255 and refused.stdout == ""
    finally:
        known.write_text(original)


def test_bad_input_gets_one_line(cli: Ehpc) -> None:
    for args, expected in [
        (("nodes", "list", "nope"), "no cluster named 'nope'"),
        (("job", "submit", "nope", "--", "true"), "no cluster named 'nope'"),
        (("job", "status", NAME, "999999"), f"cluster {NAME} has no job 999999"),
        (("job", "status", NAME, "1;id"), "'1;id' is not a job id"),
        (("cluster", "create", "--name", NAME, "--size", "1"), "already exists"),
        (("cluster", "create", "--name", "a;b", "--size", "1"), "cluster name 'a;b' is not valid"),
        (("cluster", "create", "--name", "a b", "--size", "1"), "cluster name 'a b' is not valid"),
        (("cluster", "create", "--name", "x", "--size", "0"), "cluster size must be 1 to 200"),
        (("cluster", "create", "--name", "x", "--size", "10000"), "cluster size must be 1 to 200"),
        (("ssh", NAME, "node9"), f"cluster {NAME} has no node 'node9'"),
    ]:
        out = cli.run(*args, check=False)
        assert out.returncode != 0, args
        assert out.stderr.count("\n") == 1 and expected in out.stderr, (args, out.stderr)
        assert "Traceback" not in out.stderr


def test_terminate_leaves_nothing(cli: Ehpc) -> None:
    pids = node_pids(NAME)
    assert len(pids) >= 4 * 2  # sshd + munged per node, slurm daemons
    state = Path(cli.env["EHPC_STATE_DIR"])
    out = cli.run("cluster", "terminate", NAME)
    assert "terminated" in out.stdout
    deadline = time.monotonic() + 10
    while (left := leftovers(NAME, cli.local_root, state, pids)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert left == []
    again = cli.run("cluster", "terminate", NAME)
    assert "Nothing to terminate" in again.stdout
