"""The bad-input corpus (issue 14, item 10): each entry is something a new user typed. Each must
end in ONE line on stderr naming the culprit, a non-zero exit, and nothing half-made (no journal
row, no file under the local root, no namespace)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from elastichpc.cli.guide import ehpc_client_main, ehpcutils_main, volumes_main
from elastichpc.cli.main import main
from elastichpc.config import build_spec, load_settings
from elastichpc.state import Journal

CLUSTER = "hi-corpus"  # known to the journal (no machines): job and fs checks come first
ROOT = "{root}"  # replaced by the test's local root
CONF = "{conf}"  # replaced by a cluster.conf holding the entry's text

# (argv, cluster.conf text or "", what the one line must say)
CORPUS: list[tuple[list[str], str, str]] = [
    # cluster create
    (["cluster", "create", "--name", "Bad_Name", "--size", "1"], "", "cluster name 'Bad_Name' is not valid"),
    (["cluster", "create", "--name", "-x"], "", "--name=VALUE"),
    (["cluster", "create", "--name", "hi-a", "--size", "-5"], "", "cluster size must be"),
    (["cluster", "create", "--name", "hi-a", "--size=-5"], "", "cluster size must be"),
    (["cluster", "create", "--name", "hi-a", "--size", "0"], "", "cluster size must be"),
    (["cluster", "create", "--name", "hi-a", "--size", "5000"], "", "cluster size must be"),
    (["cluster", "create", "--name", "hi-a", "--size", "many"], "", "expected a whole number"),
    (["cluster", "create", "--name", "hi-a", "--scheduler", "lsf"], "", "expected one of slurm"),
    (["cluster", "create", "--name", "hi-a", "--provider", "openstack"], "", "expected one of local"),
    (["cluster", "create", "--name", "hi-a", "--shared-dir", "/etc"], "", "/etc is a system directory"),
    (["cluster", "create", "--name", "hi-a", "--shared-dir", "shared"], "", "not an absolute path"),
    (["cluster", "create", "--name", "hi-a", "--shared-dir", "/x;reboot"], "", "not an absolute path"),
    (["cluster", "create", "--name", "hi-a", "--cluster-user", "root"], "", "not a valid non-root"),
    (["cluster", "create", "--name", "hi-a", "--spot-price", "-1"], "", "SPOT_PRICE: expected a number"),
    (["cluster", "create", "--name", "hi-a", "--spot-price", "nan"], "", "expected a finite number"),
    (["cluster", "create", "--name", "hi-a", "--autostop", "-1"], "", "expected a number above 0"),
    (["cluster", "create", "--name", "hi-a", "--local-root-dir", "/usr"], "", "/usr is a system directory"),
    (["cluster", "create", "--name", "hi-a", "--autostop", "inf"], "", "expected a finite number"),
    (["cluster", "create", "--name", "hi-a", "--max-nodes", "2", "--scaledown-idle", "0"], "",
     "expected a whole number above 0"),
    (["cluster", "create", "--name", "hi-a", "--pool", "local:2:spot:nan"], "",
     "the maximum price must be positive"),
    (["cluster", "create", "--name", "hi-a", "--firewall-fw-name", "web", "--firewall-fw-port",
      "99999"], "", "99999 is not a port number"),
    (["cluster", "create", "-c", CONF], "\x7fELF\x00\x01", "not a text file"),
    (["cluster", "create", "-c", CONF], "[CLUSTER]\nCLUSTER SIZE = 2\nCLUSTER_SIZE = 3\n", "set twice"),
    (["cluster", "create", "-c", CONF], "[CLUSTER]\nCLUSTER_PREFIX=a\n[CLUSTER]\n", "appears twice"),
    (["cluster", "create", "-c", CONF], "[CLUSTER]\nCLUSTR SIZE = 2\n", "did you mean CLUSTER SIZE?"),
    (["cluster", "create", "-c", CONF], "[NFS]\nMOUNTING_POINT = /proc\n", "/proc is a system directory"),
    (["cluster", "create", "-c", CONF], "[GLUSTERFS]\nMOUNT_POINT = gluster\n", "not an absolute path"),
    (["cluster", "create", "-c", "/hi-no-such.conf"], "", "/hi-no-such.conf: cannot read"),
    (["cluster", "terminate", "Bad_Name"], "", "cluster name 'Bad_Name' is not valid"),
    # disks
    (["disk", "create", "hi-d", "--size", "100T", "--local-root-dir", ROOT], "",
     "larger than the file system"),
    (["disk", "create", "hi-d", "--size", "-5G", "--local-root-dir", ROOT], "", "--size=VALUE"),
    (["disk", "create", "hi-d", "--size=-5G", "--local-root-dir", ROOT], "", "expected a size"),
    (["disk", "create", "hi-d", "--size", "0", "--local-root-dir", ROOT], "", "at least 1 GiB"),
    (["disk", "create", "Bad Disk", "--size", "1G", "--local-root-dir", ROOT], "", "disk name"),
    (["disk", "create", "hi-d", "--size", "1G", "--attach", "--local-root-dir", ROOT], "",
     "--attach needs --cluster"),
    (["disk", "create", "hi-d", "--size", "1G", "--attach", "--cluster", CLUSTER,
      "--mount-point", "/etc", "--local-root-dir", ROOT], "", "/etc is a system directory"),
    (["disk", "delete", "hi-nodisk", "--local-root-dir", ROOT], "", "no disk 'hi-nodisk'"),
    (["disk", "attach", "hi-nodisk", "hi-nocluster"], "", "no cluster named 'hi-nocluster'"),
    # jobs
    (["job", "submit", CLUSTER, "--array", "5-1", "--", "true"], "", "runs backwards"),
    (["job", "submit", CLUSTER, "--array", "1-x", "--", "true"], "", "expected a range"),
    (["job", "submit", CLUSTER, "--workdir", "../x", "--", "true"], "", "--workdir '../x'"),
    (["job", "submit", CLUSTER, "--owner", "", "--", "true"], "", "--owner '' is not a user name"),
    (["job", "submit", CLUSTER, "--owner", "a b", "--", "true"], "", "is not a user name"),
    (["job", "submit", CLUSTER, "--", "./hi-missing.sh"], "", "script ./hi-missing.sh does not exist"),
    (["job", "submit", CLUSTER, "--input-files", "/hi-none/f", "--", "true"], "", "input file /hi-none/f"),
    (["job", "submit", CLUSTER, "--cpus", "0", "--", "true"], "", "--cpus must be at least 1"),
    (["job", "submit", CLUSTER, "--mem", "lots", "--", "true"], "", "--mem 'lots'"),
    (["job", "submit", CLUSTER, "--time", "soon", "--", "true"], "", "--time 'soon'"),
    (["job", "submit", CLUSTER, "--env", "1X=2", "--", "true"], "", "not a valid variable name"),
    (["job", "submit", CLUSTER, "--job-name", "a b", "--", "true"], "", "job name 'a b'"),
    (["job", "submit", CLUSTER], "", "a job needs a command"),
    (["job", "submit", "hi-nocluster", "--", "true"], "", "no cluster named 'hi-nocluster'"),
    (["job", "status", CLUSTER, "abc"], "", "'abc' is not a job id"),
    (["job", "logs", CLUSTER, "12;rm"], "", "is not a job id"),
    (["job", "list", CLUSTER, "--since", "yesterday"], "", "--since 'yesterday'"),
    # shared file systems
    (["fs", "gluster", CLUSTER, "--mount-point", "/"], "", "not an absolute path"),
    (["fs", "nfs", CLUSTER, "--device", "/etc/ssh"], "", "/etc/ssh is a system directory"),
    (["fs", "nfs", CLUSTER, "--mount-point", "/usr"], "", "/usr is a system directory"),
]

# The guide's wrappers: (entry point, argv, what the one line must say)
GUIDE_CORPUS = [
    (ehpcutils_main, ["--submit", f"--cluster={CLUSTER}", "--command=id", "--ownr=system"],
     "unknown option --ownr (did you mean --owner?)"),
    (ehpcutils_main, ["--terminate", "--clster=x"], "did you mean --cluster?"),
    (ehpc_client_main, ["--nodes-terminate", f"--cluster={CLUSTER}", "-id=i-0abc"],
     "no cluster has a node 'i-0abc'"),
    (ehpc_client_main, ["--job-submit", f"--cluster={CLUSTER}", "--owner=", "--commmand=id"],
     "--owner '' is not a user name"),
    (volumes_main, ["--create-volume", "-s=10", "--zonee=x"], "did you mean --zone?"),
    (volumes_main, ["--frobnicate"], "unknown option --frobnicate"),
]


def netns_of_tests() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.startswith("ehpc.hi-a.")}


@pytest.fixture
def world(state_dir: Path, tmp_path: Path) -> Path:
    """A journal that knows CLUSTER, and an empty local root; returns the root."""
    settings = load_settings(None, {("CLUSTER", "CLUSTER_PREFIX"): CLUSTER})
    Journal().add_cluster(CLUSTER, "local", "running", build_spec(settings).to_public())
    root = tmp_path / "root"
    root.mkdir()
    return root


def snapshot(root: Path) -> tuple[list[str], list[str], set[str]]:
    journal = Journal()
    files = sorted(str(p) for p in root.rglob("*") if p.is_file() and p.name != ".lock")
    return [r.name for r in journal.clusters()], files, netns_of_tests()


def one_line(code: int, err: str, text: str) -> None:
    assert code != 0
    lines = err.splitlines()
    # `ehpc: error: ...`, or the parser's `ehpc disk create: error: ...`
    assert len(lines) == 1 and re.match(r"^ehpc( [a-z ]+)?: error: ", lines[0]), err
    assert text in lines[0], err


def run(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exit_:  # argparse's own refusals
        return int(exit_.code or 0)


@pytest.mark.parametrize(("argv", "conf", "text"), CORPUS,
                         ids=[" ".join(a[:4]) + (f" [{c[:12]!r}]" if c else "") for a, c, _ in CORPUS])
def test_bad_input_is_one_line_and_leaves_nothing(
    world: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    argv: list[str], conf: str, text: str,
) -> None:
    path = tmp_path / "cluster.conf"
    path.write_bytes(conf.encode("latin-1"))
    argv = [str(world) if a == ROOT else str(path) if a == CONF else a for a in argv]
    before = snapshot(world)
    code = run(argv)
    one_line(code, capsys.readouterr().err, text)
    assert snapshot(world) == before


@pytest.mark.parametrize(("entry", "argv", "text"), GUIDE_CORPUS,
                         ids=[" ".join(a[:2]) for _, a, _ in GUIDE_CORPUS])
def test_bad_guide_lines_are_one_line_and_run_nothing(
    world: Path, capsys: pytest.CaptureFixture[str], entry, argv: list[str], text: str
) -> None:
    before = snapshot(world)
    code = entry(argv)
    err = capsys.readouterr().err
    one_line(code, "\n".join(line for line in err.splitlines() if not line.startswith("(ehpc ")),
             text)
    assert snapshot(world) == before


def test_state_dir_that_is_a_file_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "state-file"
    target.write_text("")
    monkeypatch.setenv("EHPC_STATE_DIR", str(target))
    one_line(run(["cluster", "list"]), capsys.readouterr().err, "is a file, not a directory")


@pytest.mark.parametrize("kind", ["fifo", "device", "huge", "directory"])
def test_input_files_that_are_not_regular_or_bounded_are_one_line(
    world: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    """A FIFO with no writer, a device and a runaway file, as cluster.conf and as --jobs-file:
    refused at once, without blocking or reading them whole."""
    path = Path("/dev/zero") if kind == "device" else tmp_path / kind
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "directory":
        path.mkdir()
    elif kind == "huge":
        with path.open("wb") as big:
            big.truncate(4 << 30)  # sparse: 4 GiB that take no disk
    text = {"huge": "larger than", "directory": "is a directory"}.get(kind, "not a regular file")
    for argv in (["cluster", "create", "--name", "hi-b", "-c", str(path)],
                 ["job", "submit", CLUSTER, "--jobs-file", str(path)]):
        before = snapshot(world)
        one_line(run(argv), capsys.readouterr().err, text)
        assert snapshot(world) == before
