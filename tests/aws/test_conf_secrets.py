"""Keys given only in cluster.conf (not the environment) reach every step of a create,
including the steps that reopen the cluster from the journal, whose stored spec has no secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from elastichpc.config import load_settings
from elastichpc.errors import EhpcError
from elastichpc.orchestration.context import open_cluster
from elastichpc.state import Journal

from .helpers import create_args, ehpc


def test_keys_in_cluster_conf_only(aws_env, image, state_dir: Path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    conf = state_dir.parent / "cluster.conf"
    conf.write_text("[AWS]\naccessKey = testing\nsecretKey = testing\n")
    made = ehpc(capsys, *create_args("confkeys", 1, image, "--config", str(conf), "--provision-only"))
    assert made.code == 0, made.err
    assert "testing" not in (state_dir / "state.db").read_bytes().decode(errors="replace")

    # What a create's storage step does (join.bootstrap_machines): reopen the cluster with the
    # call's settings. Without them the stored spec has no keys, and the cloud refuses.
    journal = Journal()
    assert len(open_cluster("confkeys", journal, load_settings(conf)).fleet.machines()) == 2
    with pytest.raises(EhpcError):
        open_cluster("confkeys", journal).fleet.machines()

    gone = ehpc(capsys, "cluster", "terminate", "confkeys", "--config", str(conf))
    assert gone.code == 0, gone.err
