"""Elastic clusters on real local clusters: the head agent, resize under a running job, and a spot
node reclaimed in the middle of a 20-task array (every task completes, the node is replaced).
Slurm and Grid Engine."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .helpers import ROOT, Ehpc, alive, cmdline, leftovers, node_pids

TASK = {"slurm": "$SLURM_ARRAY_TASK_ID", "sge": "$SGE_TASK_ID"}


@pytest.fixture(scope="module", params=["slurm", "sge"])
def cluster(request: pytest.FixtureRequest,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Ehpc, str]]:
    scheduler = request.param
    name = f"agel{scheduler}"
    state = tmp_path_factory.mktemp("state")
    ehpc = Ehpc(state, ROOT / f"ag-{state.parent.name}")
    try:
        ehpc.create(name, 2, "--spot", "--scheduler", scheduler)
    except AssertionError:  # a failed create leaves what it made: remove it
        ehpc.run("cluster", "terminate", name, check=False)
        shutil.rmtree(ehpc.local_root, ignore_errors=True)
        raise
    yield ehpc, name
    before = {pid: cmdline(pid) for pid in node_pids(name)}
    ehpc.run("cluster", "terminate", name, check=False)
    assert leftovers(name, ehpc.local_root, state, []) == []
    # pids wrap around fast on a busy machine: a survivor is the same program under the same pid
    assert [pid for pid, argv in before.items() if alive(pid) and cmdline(pid) == argv] == []
    assert not [p for p in control_processes() if name in p]
    shutil.rmtree(ehpc.local_root, ignore_errors=True)


def control_processes() -> list[str]:
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if "providers.local.control import serve" in line]


def events(ehpc: Ehpc, name: str) -> list[str]:
    return [f"{e['kind']} {e['message']}" for e in ehpc.json("cluster", "events", name)]


def wait_for(check: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def scheduler_states(ehpc: Ehpc, name: str) -> dict[str, str]:
    return {n["name"]: n["scheduler_state"] for n in ehpc.json("nodes", "list", name)}


def test_agent_runs_on_the_head_and_restarts(cluster: tuple[Ehpc, str]) -> None:
    ehpc, name = cluster
    assert any(e.startswith("agent agent") and "started" in e for e in events(ehpc, name))
    agent = "/var/lib/ehpc-agent"
    out = ehpc.run("ssh", name, "--", f"stat -c '%a %U' {agent} {agent}/credentials.json; "
                   f"cat {agent}/agent.pid").stdout.split("\n")
    assert out[0] == "700 root" and out[1] == "600 root"
    ehpc.run("ssh", name, "--", f"kill {out[2]}")
    wait_for(lambda: sum("started" in e for e in events(ehpc, name)) >= 2, 60, "the agent to restart")


def test_control_endpoint_wants_the_token(cluster: tuple[Ehpc, str]) -> None:
    ehpc, name = cluster
    probe = ("import json, urllib.request as u\n"
             "a = json.load(open('/var/lib/ehpc-agent/credentials.json'))['access']\n"
             "for t in ('wrong', a['control_token']):\n"
             "    r = u.Request(a['control_url'] + '/machines', headers={'Authorization': 'Bearer ' + t})\n"
             "    try: print(u.urlopen(r, timeout=10).status)\n"
             "    except Exception as e: print(getattr(e, 'code', e))\n")
    out = ehpc.run("ssh", name, "--", f"python3 -c {shlex.quote(probe)}").stdout.split()
    assert out == ["403", "200"]


def test_resize_under_a_running_job(cluster: tuple[Ehpc, str]) -> None:
    ehpc, name = cluster
    job = ehpc.run("job", "submit", name, "--", "sleep 12; echo survived").stdout.strip()
    wait_for(lambda: ehpc.json("job", "status", name, job)[0]["state"] == "running", 60, "the job to run")
    too_many = ehpc.run("cluster", "resize", name, "--add", "1000", check=False)
    assert (too_many.returncode, too_many.stdout) == (2, "")
    assert too_many.stderr.startswith("ehpc: error: --add 1000: ") and too_many.stderr.count("\n") == 1
    added = ehpc.json("cluster", "resize", name, "--add", "1")
    assert f"{name}-node3" in [n["name"] for n in added]
    assert scheduler_states(ehpc, name)[f"{name}-node3"] in ("idle", "mix", "alloc")
    out = ehpc.run("job", "submit", name, "--wait", "--", "ls /shared/jobs >/dev/null && echo shared")
    assert out.returncode == 0 and "shared" in out.stdout
    ehpc.run("cluster", "resize", name, "--remove", "node3")
    assert f"{name}-node3" not in scheduler_states(ehpc, name)
    assert not Path(f"/run/netns/ehpc.{name}.{name}-node3").exists()
    assert ehpc.run("job", "wait", name, job).returncode == 0
    assert ehpc.json("job", "status", name, job)[0]["state"] == "completed"


def computes(ehpc: Ehpc, name: str) -> list[str]:
    return sorted(n["name"] for n in ehpc.json("nodes", "list", name) if n["role"] == "compute")


def netns(name: str) -> set[str]:
    return {p.name for p in Path("/run/netns").glob(f"ehpc.{name}.*")}


def kill_when(ehpc: Ehpc, argv: list[str], ready: Callable[[], object]) -> None:
    """Run the CLI and SIGKILL it (only it: the ssh to the agent lives on) once `ready`."""
    proc = subprocess.Popen([sys.executable, "-m", "elastichpc", *argv], env=ehpc.env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(ready, 120, f"{shlex.join(argv)} to be under way")
    finally:
        proc.kill()
        proc.wait()


def test_resize_killed_mid_way_is_done_once_by_the_rerun(cluster: tuple[Ehpc, str]) -> None:
    """kill -9 of `cluster resize` while the agent works, then the same command: the rerun
    finishes that resize rather than making another (a second node; 'not a compute node')."""
    ehpc, name = cluster
    before, present = computes(ehpc, name), netns(name)
    add = ["cluster", "resize", name, "--add", "1"]
    kill_when(ehpc, add, lambda: netns(name) - present)  # the agent is launching the node
    ehpc.run(*add)
    after = computes(ehpc, name)
    assert len(after) == len(before) + 1, after
    (new,) = set(after) - set(before)
    remove = ["cluster", "resize", name, "--remove", new.removeprefix(f"{name}-")]
    kill_when(ehpc, remove, lambda: f"ehpc.{name}.{new}" not in netns(name))
    ehpc.run(*remove)
    assert computes(ehpc, name) == before
    assert new not in scheduler_states(ehpc, name)


def test_reclaimed_spot_node_loses_no_task(cluster: tuple[Ehpc, str]) -> None:
    ehpc, name = cluster
    task = TASK[name.removeprefix("agel")]
    out_file = f"/shared/jobs/{name}-array.txt"
    job = ehpc.run("job", "submit", name, "--array", "1-20", "--",
                   f"sleep 3; echo task {task} on $(hostname) >> {out_file}").stdout.strip()

    def running_on_node1() -> bool:
        listing = ehpc.json("job", "list", name)
        return any(j["state"] == "running" and j["nodes"] == f"{name}-node1" for j in listing)

    wait_for(running_on_node1, 60, "a task on node1")
    ehpc.run("node", "reclaim", name, "node1")
    assert ehpc.run("job", "wait", name, job, timeout=400).returncode == 0
    lines = ehpc.run("ssh", name, "--", f"cat {out_file}").stdout.splitlines()
    tasks = sorted(int(line.split()[1]) for line in lines)
    assert tasks == list(range(1, 21)), lines  # every task once: none lost, none doubled
    seen = events(ehpc, name)
    for kind in ("reclaimed", "down", "replaced"):
        assert any(e.startswith(f"{kind} {name}-node1") for e in seen), seen
    assert any(e.startswith("down") and "requeued: none" not in e for e in seen), seen
    wait_for(lambda: scheduler_states(ehpc, name).get(f"{name}-node1") == "idle", 60, "the replacement")


def test_agent_installed_again_keeps_what_it_did(cluster: tuple[Ehpc, str]) -> None:
    """`ehpc cluster agent` (renewed credentials, a newer ehpc): the agent restarts with the node
    list it had, the replacement it launched included, and goes on working."""
    ehpc, name = cluster
    before = {n["name"]: (n["address"], n["state"]) for n in ehpc.json("nodes", "list", name)}
    started = sum("started" in e for e in events(ehpc, name))
    done = ehpc.run("cluster", "agent", name)
    assert f"the head agent of {name} runs this ehpc" in done.stdout
    assert "taking the head agent's node list" in done.stderr
    wait_for(lambda: sum("started" in e for e in events(ehpc, name)) > started, 60, "the agent again")
    assert {n["name"]: (n["address"], n["state"]) for n in ehpc.json("nodes", "list", name)} == before
    # The new agent still repairs: a node reclaimed now is replaced.
    def replacements() -> int:
        return sum(e.startswith(f"replaced {name}-node2") for e in events(ehpc, name))

    replaced = replacements()
    ehpc.run("node", "reclaim", name, "node2")
    wait_for(lambda: replacements() > replaced, 120, "the replacement of node2")
