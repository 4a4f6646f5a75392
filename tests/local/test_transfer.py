"""`ehpc cp` against a real local cluster: real rsync over the cluster's pinned SSH, the remote
side running as the cluster user."""

from __future__ import annotations

import filecmp
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from elastichpc.orchestration.transfer import copy_files
from elastichpc.state import Journal

from .helpers import ROOT, Ehpc, leftovers, node_pids

NAME = "cptr"
BIG = 48 * 2**20


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ehpc]:
    state = tmp_path_factory.mktemp("state")
    ehpc = Ehpc(state, ROOT / state.parent.name)
    ehpc.create(NAME, 2)
    pids = node_pids(NAME)
    yield ehpc
    ehpc.run("cluster", "terminate", NAME, check=False)
    assert leftovers(NAME, ehpc.local_root, state, pids) == []
    shutil.rmtree(ehpc.local_root, ignore_errors=True)


def _tree(root: Path) -> Path:
    (root / "data" / "sub").mkdir(parents=True)
    for i in range(20):
        (root / "data" / f"f{i}.txt").write_text(f"file {i}\n" * (i + 1))
    (root / "data" / "sub" / "bin").write_bytes(os.urandom(300_000))
    (root / "data" / "sub" / "it's $odd name").write_text("quoted\n")
    return root / "data"


def _same_tree(a: Path, b: Path) -> bool:
    cmp = filecmp.dircmp(a, b)
    if cmp.left_only or cmp.right_only or cmp.funny_files:
        return False
    _, mismatch, errors = filecmp.cmpfiles(a, b, cmp.common_files, shallow=False)
    return not mismatch and not errors and all(_same_tree(a / d, b / d) for d in cmp.common_dirs)


def test_push_pull_round_trip_and_a_rerun_sends_nothing(cli: Ehpc, tmp_path: Path) -> None:
    data = _tree(tmp_path)
    first = cli.json("cp", "-r", str(data), f"{NAME}:in")
    assert first["files_transferred"] == 22 and first["destination"] == f"{NAME}:in"
    owners = cli.run("ssh", NAME, "--", "stat -c %U ~ehpcuser/in/data/sub/bin").stdout
    assert owners == "ehpcuser\n"  # relative to the cluster user's home, and theirs
    again = cli.json("cp", "-r", str(data), f"{NAME}:in")
    assert again["files_transferred"] == 0
    (data / "f3.txt").write_text("changed\n")
    assert cli.json("cp", "-r", str(data), f"{NAME}:in")["files_transferred"] == 1

    back = tmp_path / "back"
    back.mkdir()
    pulled = cli.json("cp", "-r", f"{NAME}:in/data", str(back))
    assert pulled["files_transferred"] == 22
    assert _same_tree(data, back / "data")


def test_directory_needs_r_both_ways(cli: Ehpc, tmp_path: Path) -> None:
    data = _tree(tmp_path)
    out = cli.run("cp", str(data), f"{NAME}:", check=False)
    assert (out.returncode, out.stderr) == (1, f"ehpc: error: {data} is a directory: use -r to copy it\n")
    cli.run("cp", "-r", str(data), f"{NAME}:dirs")
    out = cli.run("cp", f"{NAME}:dirs/data", str(tmp_path), check=False)
    assert out.returncode == 1 and out.stderr.count("\n") == 1 and "use -r" in out.stderr


def test_a_killed_transfer_is_completed_by_the_rerun(cli: Ehpc, tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(BIG))
    # ~8 MiB/s: six seconds for the whole file, killed (ehpc, rsync and ssh) after the first MiBs
    proc = subprocess.Popen([sys.executable, "-m", "elastichpc", "cp", str(big), f"{NAME}:",
                             "--bwlimit", "8192"], env=cli.env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    probe = "find ~ehpcuser -maxdepth 1 -name '.big.bin.*' -size +2M | grep -q ."
    deadline = time.monotonic() + 60
    while cli.run("ssh", NAME, "--", probe, check=False).returncode != 0:
        assert proc.poll() is None and time.monotonic() < deadline, "the copy did not start"
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = "stat -c %s ~ehpcuser/.ehpc-partial/big.bin; test ! -e ~ehpcuser/big.bin"
    kept = int(cli.run("ssh", NAME, "--", partial).stdout)  # never under its own name
    assert 0 < kept < BIG

    rerun = cli.json("cp", str(big), f"{NAME}:")
    assert rerun["files_transferred"] == 1
    assert rerun["bytes_sent"] < BIG - kept // 2  # the kept part was not sent again
    remote = cli.run("ssh", NAME, "--", "sha256sum ~ehpcuser/big.bin").stdout.split()[0]
    assert remote == hashlib.sha256(big.read_bytes()).hexdigest()
    assert cli.run("ssh", NAME, "--", "test ! -e ~ehpcuser/.ehpc-partial", check=False).returncode == 0


def test_one_compute_node_by_either_name(cli: Ehpc, tmp_path: Path) -> None:
    (tmp_path / "n.txt").write_text("to node1\n")
    cli.run("cp", str(tmp_path / "n.txt"), f"{NAME}/node1:/tmp/n1.txt")
    out = cli.run("ssh", NAME, "node1", "--", "stat -c %U /tmp/n1.txt; cat /tmp/n1.txt").stdout
    assert out == "ehpcuser\nto node1\n"
    cli.run("cp", f"{NAME}/{NAME}-node1:/tmp/n1.txt", str(tmp_path / "again.txt"))
    assert (tmp_path / "again.txt").read_text() == "to node1\n"
    assert cli.run("ssh", NAME, "node2", "--", "test ! -e /tmp/n1.txt", check=False).returncode == 0
    out = cli.run("cp", str(tmp_path / "n.txt"), f"{NAME}/node9:/tmp", check=False)
    assert out.returncode == 1 and "has no node 'node9'" in out.stderr


def test_user_root_when_asked(cli: Ehpc, tmp_path: Path) -> None:
    (tmp_path / "r.txt").write_text("root's\n")
    cli.run("cp", "--user", "root", str(tmp_path / "r.txt"), f"{NAME}:/etc/ehpc-cp-test")
    assert cli.run("ssh", NAME, "--", "stat -c %U /etc/ehpc-cp-test").stdout == "root\n"


def test_a_path_the_user_may_not_write_or_read_is_one_line(cli: Ehpc, tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("x\n")
    out = cli.run("cp", str(tmp_path / "x.txt"), f"{NAME}:/etc/", check=False)
    assert (out.returncode, out.stderr) == (1, f"ehpc: error: {NAME}-head:/etc: Permission denied\n")
    cli.run("ssh", NAME, "--", "mkdir -p /srv/secret && echo s > /srv/secret/s && chmod 700 /srv/secret")
    out = cli.run("cp", f"{NAME}:/srv/secret/s", str(tmp_path), check=False)
    assert (out.returncode, out.stderr) == (1, f"ehpc: error: {NAME}-head:/srv/secret: Permission denied\n")


def test_missing_source_and_bad_words_are_one_line_before_connecting(cli: Ehpc, tmp_path: Path) -> None:
    for args, code, said in [
        ((str(tmp_path / "nope"), f"{NAME}:"), 1, f"{tmp_path / 'nope'}: no such file or directory"),
        ((str(tmp_path), "elsewhere"), 2, "both sides are on this machine"),
        ((f"{NAME}:a", f"{NAME}:b"), 2, "both sides are on a cluster"),
        (("x",), 2, "give at least one source and a destination"),
        (("cpnosuch:a", str(tmp_path)), 1, "no cluster named 'cpnosuch'"),
    ]:
        out = cli.run("cp", *args, check=False)
        assert (out.returncode, out.stdout) == (code, ""), args
        assert out.stderr.startswith("ehpc: error: ") and said in out.stderr, out.stderr
        assert out.stderr.count("\n") == 1


def test_json_is_the_only_output(cli: Ehpc, tmp_path: Path) -> None:
    (tmp_path / "j.txt").write_text("json\n")
    out = cli.run("cp", str(tmp_path / "j.txt"), f"{NAME}:", "--json")
    assert out.stderr == ""
    summary = json.loads(out.stdout)
    assert set(summary) == {"files_transferred", "bytes_sent", "bytes_received", "total_size",
                            "seconds", "sources", "destination"}
    assert summary["total_size"] == 5 and summary["sources"] == [str(tmp_path / "j.txt")]


def test_a_job_directory_by_its_id(cli: Ehpc, tmp_path: Path) -> None:
    out = cli.run("job", "submit", NAME, "--wait", "--", "echo from the job > result.txt")
    job = out.stderr.split()[2]
    cli.run("cp", f"{NAME}:{job}/result.txt", str(tmp_path / "result.txt"))
    assert (tmp_path / "result.txt").read_text() == "from the job\n"
    (tmp_path / "more.txt").write_text("input\n")
    cli.run("cp", str(tmp_path / "more.txt"), f"{NAME}:{job}/")
    row = Journal(Path(cli.env["EHPC_STATE_DIR"])).get_job(NAME, job)
    assert row is not None
    workdir = row.info["workdir"]
    assert cli.run("ssh", NAME, "--", f"cat {workdir}/more.txt").stdout == "input\n"


def test_the_python_api_returns_the_summary(cli: Ehpc, tmp_path: Path) -> None:
    (tmp_path / "api.txt").write_text("from Python\n")
    journal = Journal(Path(cli.env["EHPC_STATE_DIR"]))
    summary = copy_files([str(tmp_path / "api.txt")], f"{NAME}/node2:/tmp/", journal=journal)
    assert (summary.files_transferred, summary.total_size) == (1, 12)
    assert cli.run("ssh", NAME, "node2", "--", "cat /tmp/api.txt").stdout == "from Python\n"
