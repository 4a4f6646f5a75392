"""The command line's parser: lazy, one-line usage errors, --debug anywhere, per-command flags."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from elastichpc.cli.main import GROUPS, build_parser, group_commands, main
from elastichpc.state import JobRow, Journal


def _exit_of(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """The exit code, stdout and stderr of a command that argparse ends."""
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


@pytest.mark.parametrize(("argv", "says"), [
    (["cluster", "create", "--size", "-5G"], "is written --size=VALUE"),
    (["cluster", "create", "--name", "-x"], "is written --name=VALUE"),
    (["cluster", "create", "--provison-only"], "did you mean --provision-only?"),
    (["clster", "list"], "did you mean cluster?"),
    (["cluster", "terminat", "x"], "did you mean terminate?"),
    (["cluster"], "required: ACTION"),
    (["job", "status", "c"], "required: JOB_ID"),
])
def test_usage_errors_are_one_line(capsys: pytest.CaptureFixture[str], argv: list[str],
                                   says: str) -> None:
    code, _, err = _exit_of(capsys, *argv)
    assert code == 2
    assert err.count("\n") == 1 and says in err, err


def test_a_negative_value_reaches_validation(capsys: pytest.CaptureFixture[str],
                                             state_dir: Path) -> None:
    assert main(["cluster", "create", "--size=-5G", "--name", "clneg"]) == 2
    assert "expected a whole number, got '-5G'" in capsys.readouterr().err


def test_debug_is_accepted_after_the_command(capsys: pytest.CaptureFixture[str],
                                             state_dir: Path) -> None:
    for argv in (["--debug", "cluster", "list"], ["cluster", "list", "--debug"]):
        assert main(argv) == 0
        assert build_parser(argv).parse_args(argv).debug is True
    assert build_parser(["cluster", "list"]).parse_args(["cluster", "list"]).debug is False
    # A bug (a journal row that is not JSON): one line without --debug, the traceback with it.
    journal = Journal()
    journal.add_cluster("clbug", "local", "running", {"settings": {}})
    journal.add_jobs([JobRow("clbug", "1", "slurm", "u", "j", {}, 1.0)])
    journal._db.execute("UPDATE jobs SET info = 'not json'")
    assert main(["job", "list", "clbug", "--local"]) == 70
    with pytest.raises(ValueError):
        main(["job", "list", "clbug", "--local", "--debug"])


def test_terminate_shows_only_the_flags_it_uses(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["cluster", "terminate", "--help"])
    text = capsys.readouterr().out
    assert "usage: ehpc cluster terminate [options] name" in text
    assert "--aws-region" in text and "--local-root-dir" in text and "--provider" in text
    for unused in ("--aws-instance-type", "--glusterfs-volume-name", "--fw-port", "--size"):
        assert unused not in text
    with pytest.raises(SystemExit):
        main(["cluster", "create", "--help"])
    text = capsys.readouterr().out
    assert text.index("[CLUSTER]:") < text.index("[AWS]:") < text.index("[LOCAL]:")
    assert "--aws-instance-type" in text


def test_guide_flags_are_accepted_by_disk_commands_but_not_shown(
        capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["disk", "list", "--provider", "aws", "--aws-instance-type", "m1.large"]
    assert build_parser(argv).parse_args(argv).handler
    with pytest.raises(SystemExit):
        main(["disk", "list", "--help"])
    text = capsys.readouterr().out
    assert "--aws-region" in text and "--aws-instance-type" not in text


def test_only_the_invoked_command_is_built() -> None:
    parser = build_parser(["cluster", "list"])
    groups = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert set(groups) == set(GROUPS)
    assert groups["job"]._subparsers is None  # job's actions were never registered
    actions = groups["cluster"]._subparsers._group_actions[0].choices
    assert len(actions["create"]._actions) == 1  # only -h: create's ~100 flags not built
    assert len(actions["list"]._actions) > 1


def test_every_command_builds_alone_and_in_the_full_tree(
        capsys: pytest.CaptureFixture[str]) -> None:
    build_parser()  # every parser at once: no two flags clash
    for group in GROUPS:
        for words in group_commands(group).table:
            if words.split()[0] == group:
                code, out, _ = _exit_of(capsys, *words.split(), "--help")
                assert code == 0 and f"usage: ehpc {words}" in out


def test_help_and_listing_load_neither_config_nor_providers(state_dir: Path) -> None:
    probe = (
        "import sys, contextlib, io\n"
        "from elastichpc.cli.main import main\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['--help'])\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['cluster', 'list'])\n"
        "    main(['job', 'list', 'clnone', '--local'])\n"
        "print(sorted(m for m in sys.modules if m.startswith('elastichpc')))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    assert "elastichpc.state.journal" in out  # the probe ran the listing
    for heavy in ("elastichpc.config", "elastichpc.providers", "elastichpc.remote"):
        assert heavy not in out
