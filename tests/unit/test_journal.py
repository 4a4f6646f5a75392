"""The SQLite journal: transactions, two writers at once, a crash mid-transaction."""

from __future__ import annotations

import multiprocessing
import sqlite3
import time
from pathlib import Path

import pytest

from elastichpc.state import Journal, NodeRow


def _writer(directory: str, prefix: str, count: int) -> None:
    journal = Journal(Path(directory))
    for i in range(count):
        journal.add_cluster(f"{prefix}{i}", "local", "creating", {"settings": {}})
        journal.set_status(f"{prefix}{i}", "running")
        journal.event(f"{prefix}{i}", "note", "x")


def test_two_processes_write_at_once(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), p, 60)) for p in ("a", "b")]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0
    journal = Journal(tmp_path)
    assert len(journal.clusters()) == 120
    assert all(c.status == "running" for c in journal.clusters())


def test_failed_transaction_leaves_nothing(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.add_cluster("c", "local", "creating", {"settings": {}})
    with pytest.raises(sqlite3.IntegrityError), journal.transaction() as db:
        db.execute("UPDATE clusters SET status = 'half' WHERE name = 'c'")
        db.execute("INSERT INTO clusters VALUES ('c', 'local', 'x', '{}', 0, 0)")  # duplicate
    assert journal.get_cluster("c").status == "creating"


def test_wal_mode_and_private_directory(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "state")
    mode = journal._db.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    assert (tmp_path / "state").stat().st_mode & 0o077 == 0


def test_removing_a_cluster_removes_its_rows(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.add_cluster("c", "local", "running", {"settings": {}})
    journal.put_nodes([NodeRow("c", "c-head", "head", "id", "10.0.0.1", "10.0.0.1", "running", {})])
    journal.remove_cluster("c")
    assert journal.get_cluster("c") is None
    assert journal.nodes("c") == [] and journal.events("c") == []


def _open(directory: str, start: float) -> str:
    """Open a new state directory at `start` (many commands' first run at the same moment)."""
    while time.time() < start:  # all at once
        pass
    try:
        Journal(Path(directory)).clusters()
    except Exception as err:  # the test counts them
        return str(err)
    return ""


def test_a_new_journal_opened_by_many_at_once(tmp_path: Path) -> None:
    failures: list[str] = []
    with multiprocessing.get_context("fork").Pool(16) as pool:
        for round_ in range(8):
            directory = tmp_path / f"state{round_}"
            start = time.time() + 0.2
            failures += [f for f in pool.starmap(_open, [(str(directory), start)] * 16) if f]
    assert failures == []
