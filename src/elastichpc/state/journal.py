"""The SQLite journal: clusters, nodes, jobs, events, and runs and prices, one file per user.

WAL mode and a busy timeout make two CLI calls at once safe; every change is one transaction, so
a crash leaves either the old or the new row. The cloud (or the local host) stays the source of
truth for what exists; this is the journal and the cache.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import EhpcError, PrerequisiteError
from . import runs as runs_table
from .runs import Price, Run

# Each entry upgrades the schema by one version (PRAGMA user_version); append, never edit.
MIGRATIONS = [
    """
    CREATE TABLE clusters (
        name TEXT PRIMARY KEY,
        provider TEXT NOT NULL,
        status TEXT NOT NULL,
        spec TEXT NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE TABLE nodes (
        cluster TEXT NOT NULL REFERENCES clusters(name) ON DELETE CASCADE,
        name TEXT NOT NULL,
        role TEXT NOT NULL,
        provider_id TEXT NOT NULL DEFAULT '',
        address TEXT NOT NULL DEFAULT '',
        private_address TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL,
        info TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (cluster, name)
    );
    CREATE TABLE jobs (
        cluster TEXT NOT NULL REFERENCES clusters(name) ON DELETE CASCADE,
        job_id TEXT NOT NULL,
        scheduler TEXT NOT NULL,
        owner TEXT NOT NULL,
        name TEXT NOT NULL,
        info TEXT NOT NULL DEFAULT '{}',
        submitted_at REAL NOT NULL,
        PRIMARY KEY (cluster, job_id)
    );
    CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        cluster TEXT NOT NULL,
        at REAL NOT NULL,
        kind TEXT NOT NULL,
        message TEXT NOT NULL
    );
    CREATE INDEX events_cluster ON events(cluster, at);
    """,
    # Pools: each node knows its provider, pool ("" for the head), region and market, and its
    # address on the cluster's overlay. Existing nodes are on their cluster's one provider.
    """
    ALTER TABLE nodes ADD COLUMN provider TEXT NOT NULL DEFAULT '';
    ALTER TABLE nodes ADD COLUMN pool TEXT NOT NULL DEFAULT '';
    ALTER TABLE nodes ADD COLUMN region TEXT NOT NULL DEFAULT '';
    ALTER TABLE nodes ADD COLUMN market TEXT NOT NULL DEFAULT 'on-demand';
    ALTER TABLE nodes ADD COLUMN overlay_address TEXT NOT NULL DEFAULT '';
    UPDATE nodes SET provider = (SELECT provider FROM clusters WHERE clusters.name = nodes.cluster);
    UPDATE nodes SET pool = provider WHERE role = 'compute';
    UPDATE nodes SET market = 'spot' WHERE json_extract(info, '$.spot') = 1
    """,
    # What machines cost: runs (a node's billed life on one instance) and prices (state/runs.py).
    runs_table.SCHEMA,
]


class ClusterBusy(EhpcError):
    """Another ehpc command is changing the cluster right now (create, terminate, resize, ...)."""


def state_dir() -> Path:
    """$EHPC_STATE_DIR, else $XDG_STATE_HOME/ehpc, else ~/.local/state/ehpc."""
    env = os.environ.get("EHPC_STATE_DIR")
    if env:
        return Path(env).absolute()  # a relative one would be another directory elsewhere
    xdg = os.environ.get("XDG_STATE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "state"
    return base / "ehpc"


def _write_ahead(db: sqlite3.Connection) -> None:
    """WAL mode. Several commands opening a new journal at once: switching it answers "database
    is locked" at once (no busy wait) while another one switches it; asked again."""
    for attempt in range(200):
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or attempt == 199:
                raise
            time.sleep(0.05)


def _unusable(directory: Path, err: Exception) -> str:
    """One line on why the state directory cannot hold the journal."""
    where = f"state directory {directory}"
    if os.environ.get("EHPC_STATE_DIR"):
        where += " ($EHPC_STATE_DIR)"
    if directory.exists() and not directory.is_dir():
        return f"{where} is a file, not a directory: point EHPC_STATE_DIR at a directory"
    if directory.is_dir() and not os.access(directory, os.W_OK | os.X_OK):
        return f"{where} is not writable by this user"
    reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
    return f"{where} cannot hold the journal: {reason}"


@dataclass
class ClusterRow:
    name: str
    provider: str
    status: str
    spec: dict[str, Any]
    created_at: float
    updated_at: float


@dataclass
class NodeRow:
    cluster: str
    name: str
    role: str
    provider_id: str
    address: str
    private_address: str
    status: str
    info: dict[str, Any]
    provider: str = ""
    pool: str = ""  # "" for the head
    region: str = ""
    market: str = "on-demand"  # or "spot"
    overlay_address: str = ""


NODE_COLUMNS = ("cluster", "name", "role", "provider_id", "address", "private_address", "status",
                "info", "provider", "pool", "region", "market", "overlay_address")


@dataclass
class JobRow:
    cluster: str
    job_id: str
    scheduler: str
    owner: str
    name: str
    info: dict[str, Any]
    submitted_at: float


class Journal:
    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or state_dir()
        self.path = self.directory / "state.db"
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            _private(self.directory, 0o700)  # also when it was there before: keys and state live here
            self.path.touch(mode=0o600)
            _private(self.path, 0o600)  # SQLite gives its -wal and -shm files the same mode
            self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self._db.row_factory = sqlite3.Row
            _write_ahead(self._db)
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.execute("PRAGMA busy_timeout=30000")
            self._migrate()
        except (OSError, sqlite3.Error) as err:
            raise PrerequisiteError(_unusable(self.directory, err)) from None

    def cluster_dir(self, name: str) -> Path:
        """Per-cluster files: SSH keys, known_hosts, ssh_config (mode 0700)."""
        path = self.directory / "clusters" / name
        path.parent.mkdir(exist_ok=True, mode=0o700)
        _private(path.parent, 0o700)
        path.mkdir(exist_ok=True, mode=0o700)
        return path

    @contextmanager
    def cluster_lock(self, name: str, doing: str) -> Iterator[None]:
        """Hold cluster `name` for one command that changes it (`doing`: "being created",
        "being resized", "getting a disk", ...). Another ehpc command holding it: one line
        saying which. The lock goes with the process (Ctrl-C, kill -9), so a rerun can always
        finish the work."""
        locks = self.directory / "locks"
        locks.mkdir(exist_ok=True, mode=0o700)
        fd = os.open(locks / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o600)  # never truncate:
        with open(fd, "r+") as lock:  # the holder's note is in it
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                lock.seek(0)
                pid, _, held = lock.read().strip().partition(" ")
                what = f"{held} (ehpc pid {pid})" if pid.isdigit() and held else "busy"
                raise ClusterBusy(
                    f"cluster {name!r} is {what}: wait for that command to finish, then rerun"
                ) from None
            lock.truncate(0)
            lock.write(f"{os.getpid()} {doing}\n")
            lock.flush()
            yield

    def _migrate(self) -> None:
        with self.transaction() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in filter(str.strip, script.split(";")):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version={number}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        # BEGIN IMMEDIATE takes the write lock up front, so two writers queue instead of failing.
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()

    # clusters
    def add_cluster(self, name: str, provider: str, status: str, spec: dict[str, Any]) -> None:
        now = time.time()
        with self.transaction() as db:
            db.execute(
                "INSERT INTO clusters VALUES (?, ?, ?, ?, ?, ?)",
                (name, provider, status, json.dumps(spec), now, now),
            )
            self._event(db, name, "status", status)

    def set_status(self, name: str, status: str, message: str = "") -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE clusters SET status = ?, updated_at = ? WHERE name = ?",
                (status, time.time(), name),
            )
            self._event(db, name, "status", f"{status} {message}".strip())

    def set_spec(self, name: str, spec: dict[str, Any], message: str,
                 kind: str = "settings") -> None:
        """The cluster's recorded settings changed on a running cluster (`cluster install`,
        `cluster budget`): an event of `kind` says how."""
        with self.transaction() as db:
            db.execute("UPDATE clusters SET spec = ?, updated_at = ? WHERE name = ?",
                       (json.dumps(spec), time.time(), name))
            self._event(db, name, kind, message)

    def get_cluster(self, name: str) -> ClusterRow | None:
        row = self._db.execute("SELECT * FROM clusters WHERE name = ?", (name,)).fetchone()
        return _cluster(row) if row else None

    def clusters(self) -> list[ClusterRow]:
        rows = self._db.execute("SELECT * FROM clusters ORDER BY created_at").fetchall()
        return [_cluster(row) for row in rows]

    def remove_cluster(self, name: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM clusters WHERE name = ?", (name,))
            db.execute("DELETE FROM events WHERE cluster = ?", (name,))
            db.execute("DELETE FROM runs WHERE cluster = ?", (name,))

    # nodes
    def put_nodes(self, nodes: list[NodeRow]) -> None:
        with self.transaction() as db:
            for cluster in {n.cluster for n in nodes}:
                runs_table.follow(db, cluster, [n for n in nodes if n.cluster == cluster])
            db.executemany(
                f"INSERT OR REPLACE INTO nodes ({', '.join(NODE_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(NODE_COLUMNS))})",
                [
                    tuple(json.dumps(n.info) if c == "info" else getattr(n, c) for c in NODE_COLUMNS)
                    for n in nodes
                ],
            )

    def nodes(self, cluster: str) -> list[NodeRow]:
        rows = self._db.execute(
            "SELECT * FROM nodes WHERE cluster = ? ORDER BY role DESC, name", (cluster,)
        ).fetchall()
        return [NodeRow(**{**dict(row), "info": json.loads(row["info"])}) for row in rows]

    def remove_nodes(self, cluster: str, names: list[str]) -> None:
        with self.transaction() as db:
            runs_table.end(db, cluster, names)
            db.executemany(
                "DELETE FROM nodes WHERE cluster = ? AND name = ?", [(cluster, n) for n in names]
            )

    # runs and prices (what the machines cost: state/runs.py)
    def runs(self, cluster: str) -> list[Run]:
        return runs_table.read(self._db, cluster)

    def replace_runs(self, cluster: str, runs: list[Run]) -> None:
        with self.transaction() as db:
            runs_table.replace(db, cluster, runs)

    def prices(self) -> list[Price]:
        return runs_table.read_prices(self._db)

    def add_prices(self, prices: list[Price], replacing: bool = False) -> None:
        """Record prices seen; `replacing`: they are the whole record of their keys (the head
        agent's, which the client's `cluster cost` then agrees with)."""
        with self.transaction() as db:
            if replacing:
                runs_table.forget_prices(db, {price.key for price in prices})
            runs_table.add_prices(db, prices)

    # jobs
    def add_jobs(self, jobs: list[JobRow]) -> None:
        with self.transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO jobs VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(job.cluster, job.job_id, job.scheduler, job.owner, job.name,
                  json.dumps(job.info), job.submitted_at) for job in jobs],
            )

    def get_job(self, cluster: str, job_id: str) -> JobRow | None:
        row = self._db.execute(
            "SELECT * FROM jobs WHERE cluster = ? AND job_id = ?", (cluster, job_id)
        ).fetchone()
        return JobRow(**{**dict(row), "info": json.loads(row["info"])}) if row else None

    def jobs(self, cluster: str, since: float = 0.0) -> list[JobRow]:
        """The jobs submitted through ehpc to `cluster` (since a time), oldest first."""
        rows = self._db.execute(
            "SELECT * FROM jobs WHERE cluster = ? AND submitted_at >= ? "
            "ORDER BY submitted_at, rowid", (cluster, since),
        ).fetchall()
        return [JobRow(**{**dict(row), "info": json.loads(row["info"])}) for row in rows]

    # events
    def event(self, cluster: str, kind: str, message: str) -> None:
        with self.transaction() as db:
            self._event(db, cluster, kind, message)

    def events(self, cluster: str) -> list[tuple[float, str, str]]:
        rows = self._db.execute(
            "SELECT at, kind, message FROM events WHERE cluster = ? ORDER BY id", (cluster,)
        ).fetchall()
        return [tuple(row) for row in rows]

    def messages(self, cluster: str, kind: str) -> list[str]:
        """The messages of the cluster's events of one kind, oldest first."""
        rows = self._db.execute(
            "SELECT message FROM events WHERE cluster = ? AND kind = ? ORDER BY id", (cluster, kind)
        ).fetchall()
        return [row[0] for row in rows]

    @staticmethod
    def _event(db: sqlite3.Connection, cluster: str, kind: str, message: str) -> None:
        db.execute(
            "INSERT INTO events (cluster, at, kind, message) VALUES (?, ?, ?, ?)",
            (cluster, time.time(), kind, message),
        )


def _private(path: Path, mode: int) -> None:
    """Tighten `path` to `mode` when it is ours (another user's is theirs to keep)."""
    if path.stat().st_uid == os.geteuid():
        path.chmod(mode)


def _cluster(row: sqlite3.Row) -> ClusterRow:
    return ClusterRow(**{**dict(row), "spec": json.loads(row["spec"])})
