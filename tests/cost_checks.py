"""What the cost tests of every cloud's emulator ask of `ehpc` in-process: a cluster's cost
report and listing as JSON, its lines by (pool, provider, market, type), and that terminate
takes its cost record along."""

from __future__ import annotations

import json
from typing import Any

import pytest

from elastichpc.cli.main import main
from elastichpc.state import Journal


def ehpc(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def cost(capsys: pytest.CaptureFixture[str], name: str) -> dict[str, Any]:
    code, out, err = ehpc(capsys, "cluster", "cost", name, "--json")
    assert code == 0, err
    return dict(json.loads(out))


def lines_of(report: dict[str, Any]) -> dict[tuple[str, str, str, str], dict[str, Any]]:
    """The report's lines by (pool, provider, market, type)."""
    found = {(line["pool"], line["provider"], line["market"], line["instance_type"]): line
             for line in report["lines"]}
    assert len(found) == len(report["lines"]), report["lines"]
    return found


def listed(capsys: pytest.CaptureFixture[str], name: str) -> dict[str, Any]:
    code, out, err = ehpc(capsys, "cluster", "list", "--json")
    assert code == 0, err
    return dict(next(c for c in json.loads(out) if c["name"] == name))


def gone(capsys: pytest.CaptureFixture[str], name: str) -> None:
    """After terminate: no runs in the journal, `cluster cost` is one line saying so, and the
    cluster is not listed."""
    assert ehpc(capsys, "cluster", "terminate", name)[0] == 0
    assert Journal().runs(name) == []
    code, out, err = ehpc(capsys, "cluster", "cost", name, "--json")
    assert code != 0 and out == ""
    (line,) = err.strip().splitlines()
    assert line.startswith(f"ehpc: error: no cluster named '{name}'"), line
    assert name not in [c["name"] for c in json.loads(ehpc(capsys, "cluster", "list", "--json")[1])]
