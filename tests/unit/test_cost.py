"""The cost record (state/runs.py, orchestration/cost.py): runs follow the node rows through
every change a cluster's nodes go through, prices are a step function in time, and what no
price is known for is counted apart, never as $0."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from elastichpc.cli.main import main
from elastichpc.orchestration.cost import elapsed_seconds, job_cost
from elastichpc.schedulers.base import JobInfo
from elastichpc.state import Journal, NodeRow
from elastichpc.state.journal import MIGRATIONS
from elastichpc.state.runs import Price, Run, hourly_now, run_cost, summarize

HOUR = 3600.0


def node(name: str, provider_id: str, status: str = "running", **extra: str) -> NodeRow:
    return NodeRow("c", name, "compute", provider_id, "", "", status,
                   {"instance_type": "t3.micro"}, provider="aws", pool="aws", region="eu-west-1",
                   **extra)


def test_runs_follow_the_nodes_instances_and_states(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.add_cluster("c", "aws", "running", {})
    journal.put_nodes([node("c-node1", "i-1", "pending")])
    journal.put_nodes([node("c-node1", "i-1")])  # pending -> running: the same run
    journal.put_nodes([node("c-node2", "i-2")])
    assert [(r.node, r.provider_id, r.ended) for r in journal.runs("c")] == [
        ("c-node1", "i-1", None), ("c-node2", "i-2", None)]
    journal.put_nodes([node("c-node1", "i-3", market="spot")])  # replaced: a new run
    journal.put_nodes([node("c-node2", "i-2", "preempted")])  # lost: it costs nothing now
    runs = {r.provider_id: r for r in journal.runs("c")}
    assert runs["i-1"].ended is not None and runs["i-2"].ended is not None
    assert runs["i-3"].ended is None and runs["i-3"].market == "spot"
    assert runs["i-3"].instance_type == "t3.micro"
    journal.remove_nodes("c", ["c-node1"])
    assert all(r.ended is not None for r in journal.runs("c"))
    journal.remove_cluster("c")
    assert journal.runs("c") == []


def test_a_journal_from_before_the_cost_record_opens_runs_for_its_running_nodes(
        tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "state.db")
    for number, script in enumerate(MIGRATIONS[:2], start=1):
        db.executescript(script)
        db.execute(f"PRAGMA user_version={number}")
    db.execute("INSERT INTO clusters VALUES ('old', 'aws', 'running', '{}', 0, 0)")
    db.execute("INSERT INTO nodes (cluster, name, role, provider_id, status, info, provider) "
               "VALUES ('old', 'old-head', 'head', 'i-9', 'running', "
               "'{\"instance_type\": \"m5.large\"}', 'aws')")
    db.commit()
    db.close()
    (run,) = Journal(tmp_path).runs("old")
    assert (run.node, run.instance_type, run.ended) == ("old-head", "m5.large", None)
    assert run.started > 0


def run(started: float, ended: float | None = None) -> Run:
    return Run("c-node1", "i-1", "aws", "aws", "eu-west-1", "spot", "t3.micro", started, ended)


def price(at: float, hourly: float | None) -> Price:
    return Price("aws", "eu-west-1", "t3.micro", "spot", at, hourly, "test")


def test_a_moving_price_is_a_step_function_in_time() -> None:
    prices = [price(100.0, 1.0), price(100.0 + HOUR, 3.0)]
    # The first price also covers the time before it (prices are asked after a machine starts).
    whole = run_cost(run(0.0, 100.0 + 2 * HOUR), prices, now=0)
    assert whole == (pytest.approx(1.0 * (1 + 100 / HOUR) + 3.0), 0.0)
    assert run_cost(run(100.0 + HOUR), prices, now=100.0 + 1.5 * HOUR) == (pytest.approx(1.5), 0.0)
    assert run_cost(run(0.0, HOUR), [], now=0) == (0.0, HOUR)  # no price: time counted apart


def test_unknown_prices_are_said_and_never_summed_as_zero() -> None:
    runs = [run(0.0), Run("c-head", "i-0", "aws", "", "eu-west-1", "on-demand", "t3.small", 0.0)]
    prices = [price(10.0, None), price(20.0, 2.0),  # asked again later: known from then on
              Price("aws", "eu-west-1", "t3.small", "on-demand", 10.0, None, "no price: nope")]
    lines = {line.pool: line for line in summarize(runs, prices, now=HOUR)}
    assert lines["aws"].so_far == pytest.approx(2.0) and lines["aws"].hourly == 2.0
    assert lines["head"].so_far == 0.0 and lines["head"].hourly is None
    assert lines["head"].unknown_hours == pytest.approx(1.0)
    assert lines["head"].source == "no price: nope"
    assert hourly_now(list(lines.values())) is None


@pytest.mark.parametrize("text, seconds", [
    ("00:01:05", 65.0), ("1-02:00:00", 93600.0), ("01:05", 65.0), ("12", 12.0),
    ("12.5s", 12.5), ("", None), ("n/a", None)])
def test_elapsed_times_of_every_scheduler(text: str, seconds: float | None) -> None:
    assert elapsed_seconds(text) == seconds


def test_a_jobs_cost_is_its_time_on_each_of_its_nodes() -> None:
    info = JobInfo("7", "", "align", "completed", "COMPLETED", 0, "c-node[1-2]", elapsed="00:30:00")
    assert job_cost(info, {"c-node1": 1.0, "c-node2": 3.0}) == pytest.approx(2.0)
    assert job_cost(info, {"c-node1": 1.0}) is None  # c-node2's price is not known
    assert job_cost(JobInfo("8", "", "x", "completed", "C", 0, "c-node1"), {"c-node1": 1.0}) is None


@pytest.mark.parametrize("argv, says", [
    (["cluster", "budget", "nosuch", "ten"], "budget 'ten'"),
    (["cluster", "budget", "nosuch", "-5"], "budget '-5'"),
    (["cluster", "budget", "nosuch", "5", "--budget-action", "explode"], "invalid choice"),
    (["cluster", "budget", "nosuch", "5"], "no cluster named 'nosuch'"),
    (["cluster", "cost", "nosuch"], "no cluster named 'nosuch'"),
    (["cluster", "create", "--name", "x", "--budget", "0"], "BUDGET"),
])
def test_bad_budget_and_cost_words_are_one_line(argv: list[str], says: str, capsys,
                                                monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("EHPC_STATE_DIR", str(tmp_path))
    try:
        code = main(argv)
    except SystemExit as usage:  # argparse's own refusals
        code = int(usage.code or 0)
    err = capsys.readouterr().err.strip()
    assert code != 0 and len(err.splitlines()) == 1 and says in err, err
