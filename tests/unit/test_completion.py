"""Tab completion, run in real bash and zsh: commands, flags, values, and cluster names, node
names and job ids from the journal."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from elastichpc.cli.completion_cmds import complete
from elastichpc.cli.main import main
from elastichpc.state import JobRow, Journal, NodeRow


@pytest.fixture
def journal(state_dir: Path) -> Journal:
    journal = Journal()
    journal.add_cluster("clcomp", "local", "running", {"name": "clcomp", "settings": {}})
    journal.add_cluster("clother", "local", "failed", {"name": "clother", "settings": {}})
    journal.put_nodes([NodeRow("clcomp", f"clcomp-{n}", "compute" if n != "head" else "head",
                               "", "", "", "running", {}) for n in ("head", "node1", "node2")])
    journal.add_jobs([JobRow("clcomp", str(i), "slurm", "u", "j", {}, float(i)) for i in (7, 8)])
    return journal


@pytest.mark.parametrize(("line", "expected"), [
    ("", ["cluster", "nodes", "ssh", "cp", "job", "disk", "fs", "spot", "completion", "node",
          "dashboard", "--help", "--version", "--debug"]),
    ("cl", ["cluster"]),
    ("cluster st", ["status"]),
    ("cluster status ", ["clcomp", "clother"]),
    ("--debug cluster status clc", ["clcomp"]),
    ("cluster status clcomp --js", ["--json"]),
    ("cluster status clcomp ", []),
    ("cluster create --provider ", ["local", "aws", "gce", "azure"]),
    ("cluster create --scheduler p", ["pbs"]),
    ("ssh clcomp ", ["head", "node1", "node2"]),
    ("ssh clcomp --user root n", ["node1", "node2"]),
    ("cp --rec", ["--recursive"]),
    ("job status clcomp ", ["8", "7"]),
    ("job wait -c x.conf clcomp ", ["8", "7"]),
    ("disk list --cluster ", ["clcomp", "clother"]),
    ("dashboard ", ["clcomp", "clother"]),
    ("completion ", ["bash", "zsh"]),
    ("nosuch ", []),
])
def test_candidates(journal: Journal, line: str, expected: list[str]) -> None:
    words = line.split(" ")
    assert complete(words) == expected


def test_completing_creates_no_state(state_dir: Path) -> None:
    assert complete(["cluster", "status", ""]) == []
    assert not state_dir.exists()


def _script(shell: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> Path:
    assert main(["completion", shell]) == 0
    path = tmp_path / f"ehpc.{shell}"
    path.write_text(capsys.readouterr().out)
    return path


def test_bash_completes_through_the_script(journal: Journal, capsys: pytest.CaptureFixture[str],
                                           tmp_path: Path) -> None:
    script = _script("bash", capsys, tmp_path)
    probe = (f"source {script}\n"
             "COMP_WORDS=(ehpc ssh clcomp ''); COMP_CWORD=3; _ehpc_complete\n"
             "printf '%s\\n' \"${COMPREPLY[@]}\"\n"
             "COMP_WORDS=(ehpc job status clcomp ''); COMP_CWORD=4; _ehpc_complete\n"
             "printf '%s\\n' \"${COMPREPLY[@]}\"\n"
             "complete -p ehpc\n")
    out = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, timeout=60,
                         check=True).stdout.splitlines()
    assert out == ["head", "node1", "node2", "8", "7",
                   "complete -o default -F _ehpc_complete ehpc"]


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_completes_through_the_script(journal: Journal, capsys: pytest.CaptureFixture[str],
                                          tmp_path: Path) -> None:
    script = _script("zsh", capsys, tmp_path)
    # The completion system's builtins stand in as printers; the function itself runs as is.
    probe = ("compdef() { print \"compdef $*\"; }\n"
             "compadd() { shift 2; print -l -- \"$@\"; }\n"
             "_files() { print FILES; }\n"
             f"source {script}\n"
             "words=(ehpc cluster status ''); CURRENT=4; _ehpc_complete\n"
             "words=(ehpc cluster status clcomp --config ''); CURRENT=6; _ehpc_complete\n")
    out = subprocess.run(["zsh", "-f", "-c", probe], capture_output=True, text=True, timeout=60,
                         check=True).stdout.splitlines()
    assert out == ["compdef _ehpc_complete ehpc", "clcomp", "clother", "FILES"]
