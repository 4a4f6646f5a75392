"""What a cluster's machines cost, as data: runs and prices.

A run is one machine's billed life: a node on one instance (its provider id), from when the
journal first saw it pending or running to when it saw it gone, stopped, preempted or lost. A
replacement under the same name is a new run, on its own cloud, type and market. Runs follow the
node rows in the same transaction (`follow`), so every path that records nodes (create, resize,
repair, autoscale, the agent's seed) keeps them, and the record outlives agent restarts and
client reruns. A price is what the provider's price API said of a type at a place and market
from a moment on (a spot price moves: a newer row); `hourly` None means it could not tell.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from dataclasses import astuple, dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .journal import NodeRow

BILLED = ("pending", "running")  # a machine in any other state costs nothing (stopped, gone)

SCHEMA = """
    CREATE TABLE runs (
        cluster TEXT NOT NULL,
        node TEXT NOT NULL,
        provider_id TEXT NOT NULL,
        provider TEXT NOT NULL,
        pool TEXT NOT NULL,
        region TEXT NOT NULL,
        market TEXT NOT NULL,
        instance_type TEXT NOT NULL,
        started REAL NOT NULL,
        ended REAL,
        PRIMARY KEY (cluster, node, provider_id, started)
    );
    CREATE TABLE prices (
        provider TEXT NOT NULL,
        region TEXT NOT NULL,
        instance_type TEXT NOT NULL,
        market TEXT NOT NULL,
        at REAL NOT NULL,
        hourly REAL,
        source TEXT NOT NULL,
        PRIMARY KEY (provider, region, instance_type, market, at)
    );
    INSERT INTO runs
        SELECT cluster, name, provider_id, provider, pool, region, market,
               COALESCE(json_extract(info, '$.instance_type'), ''), strftime('%s', 'now'), NULL
        FROM nodes WHERE status IN ('pending', 'running') AND provider_id != ''
"""


@dataclass
class Run:
    node: str
    provider_id: str
    provider: str
    pool: str  # "" for the head
    region: str
    market: str
    instance_type: str
    started: float
    ended: float | None = None

    @property
    def key(self) -> tuple[str, str, str, str]:
        """What its price depends on."""
        return (self.provider, self.region, self.instance_type, self.market)


@dataclass
class Price:
    provider: str
    region: str
    instance_type: str
    market: str
    at: float
    hourly: float | None
    source: str

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.provider, self.region, self.instance_type, self.market)


def follow(db: sqlite3.Connection, cluster: str, nodes: Iterable[NodeRow]) -> None:
    """Open a run for each node newly billed on its instance; end the runs of instances the
    node no longer is, or no longer pays for."""
    now = time.time()
    for node in nodes:
        billed = node.status in BILLED and bool(node.provider_id)
        running = [pid for (pid,) in db.execute(
            "SELECT provider_id FROM runs WHERE cluster = ? AND node = ? AND ended IS NULL",
            (cluster, node.name))]
        for pid in running:
            if not billed or pid != node.provider_id:
                _end(db, cluster, node.name, pid, now)
        if billed and node.provider_id not in running:
            run = Run(node.name, node.provider_id, node.provider, node.pool, node.region,
                      node.market, str(node.info.get("instance_type") or ""), now)
            db.execute("INSERT OR IGNORE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (cluster, *astuple(run)))


def end(db: sqlite3.Connection, cluster: str, names: Iterable[str]) -> None:
    """The nodes left the cluster: their runs end now."""
    now = time.time()
    for name in names:
        db.execute("UPDATE runs SET ended = ? WHERE cluster = ? AND node = ? AND ended IS NULL",
                   (now, cluster, name))


def _end(db: sqlite3.Connection, cluster: str, node: str, provider_id: str, now: float) -> None:
    db.execute("UPDATE runs SET ended = ? WHERE cluster = ? AND node = ? AND provider_id = ? "
               "AND ended IS NULL", (now, cluster, node, provider_id))


def read(db: sqlite3.Connection, cluster: str) -> list[Run]:
    rows = db.execute("SELECT * FROM runs WHERE cluster = ? ORDER BY started, node",
                      (cluster,)).fetchall()
    return [Run(*tuple(row)[1:]) for row in rows]


def replace(db: sqlite3.Connection, cluster: str, runs: Iterable[Run]) -> None:
    """The cluster's runs as another journal holds them (the head agent's, or the client's at
    the agent's seed)."""
    db.execute("DELETE FROM runs WHERE cluster = ?", (cluster,))
    db.executemany("INSERT OR IGNORE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   [(cluster, *astuple(run)) for run in runs])


def read_prices(db: sqlite3.Connection) -> list[Price]:
    rows = db.execute("SELECT * FROM prices ORDER BY at").fetchall()
    return [Price(*tuple(row)) for row in rows]


def forget_prices(db: sqlite3.Connection, keys: Iterable[tuple[str, str, str, str]]) -> None:
    db.executemany("DELETE FROM prices WHERE provider = ? AND region = ? AND instance_type = ? "
                   "AND market = ?", list(keys))


def add_prices(db: sqlite3.Connection, prices: Iterable[Price]) -> None:
    db.executemany("INSERT OR REPLACE INTO prices VALUES (?, ?, ?, ?, ?, ?, ?)",
                   [astuple(price) for price in prices])


@dataclass
class CostLine:
    """Machines alike in pool, provider, market and type (the head is its own line)."""

    pool: str  # "head" or the pool's place
    provider: str
    market: str
    instance_type: str
    running: int = 0  # machines billed now
    so_far: float = 0.0  # USD, at the known prices
    hourly: float | None = 0.0  # USD per hour now; None when a running machine has no price
    unknown_hours: float = 0.0  # machine-hours without a known price
    source: str = ""  # where the price came from, or why there is none


def summarize(runs: list[Run], prices: list[Price], now: float) -> list[CostLine]:
    """The runs' cost so far and per hour now, a line per pool, provider, market and type."""
    series: dict[tuple[str, str, str, str], list[Price]] = {}
    for price in prices:
        series.setdefault(price.key, []).append(price)
    lines: dict[tuple[str, str, str, str], CostLine] = {}
    for run in runs:
        line = lines.setdefault(
            (run.pool or "head", run.provider, run.market, run.instance_type),
            CostLine(run.pool or "head", run.provider, run.market, run.instance_type))
        seen = series.get(run.key, [])
        known = [p for p in seen if p.hourly is not None]
        line.source = (known or seen)[-1].source if seen else "not asked yet"
        dollars, unknown = run_cost(run, known, now)
        line.so_far += dollars
        line.unknown_hours += unknown / 3600
        if run.ended is None:
            line.running += 1
            hourly = known[-1].hourly if known else None
            line.hourly = None if hourly is None or line.hourly is None else line.hourly + hourly
    return list(lines.values())


def hourly_now(lines: list[CostLine]) -> float | None:
    """What the running machines cost per hour; None when one's price is not known."""
    hourly = [line.hourly for line in lines if line.running]
    return None if None in hourly else sum(h for h in hourly if h is not None)


def run_cost(run: Run, known: list[Price], now: float) -> tuple[float, float]:
    """(USD, seconds without a price) of one run under a step function of known prices (each
    from its moment on; the first also before it, since prices are asked after a run starts)."""
    end = run.ended if run.ended is not None else now
    if not known:
        return 0.0, max(0.0, end - run.started)
    dollars = 0.0
    for i, price in enumerate(known):
        start = run.started if i == 0 else max(run.started, price.at)
        stop = end if i == len(known) - 1 else min(end, known[i + 1].at)
        if stop > start and price.hourly is not None:
            dollars += price.hourly * (stop - start) / 3600
    return dollars, 0.0


def format_usd(value: float | None) -> str:
    if value is None:
        return "unknown"
    if value < 1:  # a cheap machine's price or a short run: its first figures show
        return f"${value:.6f}" if 0 < value < 0.01 else f"${value:.4f}"
    return f"${value:,.2f}"


def hours(value: float) -> str:
    """Machine-hours in words a short run does not round to zero."""
    return f"{value:.2f}" if value >= 0.01 else "under 0.01"
