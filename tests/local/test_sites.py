"""One cluster over three local sites: the head on A, two compute nodes on each of B and C.

Each site is its own bridge and subnet with no route to the others; only the WireGuard overlay
(over the shared public segment, its UDP port alone let in) joins them. Jobs land on every
node, a file a job wrote on B is read by a job on C (NFS from the head, over the overlay), and
with the head's tunnel down the nodes on B and C cannot reach the head at all.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from elastichpc.providers.local import hostnet

from .helpers import ROOT, Ehpc, cmdline, leftovers, node_pids

NAME = "plsites"


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ehpc]:
    state = tmp_path_factory.mktemp("state")
    ehpc = Ehpc(state, ROOT / f"pl-{NAME}")
    ehpc.run("cluster", "create", "--name", NAME, "--head", "local/a", "--pool", "local/b:2",
             "--pool", "local/c:2", "--local-root-dir", str(ehpc.local_root), timeout=400)
    yield ehpc
    ehpc.run("cluster", "terminate", NAME, check=False)
    shutil.rmtree(ehpc.local_root, ignore_errors=True)


def cli_argv() -> list[str]:
    return [sys.executable, "-m", "elastichpc"]


def reach(node: str, address: str, port: int = 22, tries: int = 1) -> bool:
    """Can `node` open a TCP connection to address:port (from inside its network namespace)?
    Each try waits 3 s; give a reachable address several tries on a busy machine."""
    for _ in range(tries):
        probe = subprocess.run(
            ["ip", "netns", "exec", f"ehpc.{NAME}.{NAME}-{node}", "timeout", "3", "bash", "-c",
             f"exec 3<>/dev/tcp/{address}/{port}"], capture_output=True, timeout=20)
        if probe.returncode == 0:
            return True
    return False


def test_nodes_know_their_sites_and_overlay(cli: Ehpc) -> None:
    nodes = {n["name"]: n for n in cli.json("nodes", "list", NAME)}
    sites = {name[len(NAME) + 1:]: (n["provider"], n["region"], n["pool"]) for name, n in nodes.items()}
    assert sites == {"head": ("local", "a", ""), "node1": ("local", "b", "local/b"),
                     "node2": ("local", "b", "local/b"), "node3": ("local", "c", "local/c"),
                     "node4": ("local", "c", "local/c")}
    assert {n["market"] for n in nodes.values()} == {"on-demand"}
    assert nodes[f"{NAME}-head"]["overlay_address"] == "10.250.0.1"
    assert len({n["overlay_address"] for n in nodes.values()}) == 5
    subnets = {n["address"].rsplit(".", 1)[0] for n in nodes.values()}
    assert len(subnets) == 3  # a subnet per site
    # SSH to a compute node goes through the head, to its overlay address.
    config = Path(cli.env["EHPC_STATE_DIR"]) / "clusters" / NAME / "ssh_config"
    block = config.read_text().split(f"Host {NAME}-node3\n")[1].split("Host ")[0]
    assert f"HostName {nodes[f'{NAME}-node3']['overlay_address']}" in block
    assert f"ProxyJump {NAME}-head" in block
    # This kernel has no WireGuard: the tunnels are wireguard-go, in the nodes.
    assert any("wireguard-go" in " ".join(cmdline(pid)) for pid in node_pids(NAME))


def test_keys_stay_out_of_the_journal(cli: Ehpc) -> None:
    keys = Path(cli.env["EHPC_STATE_DIR"]) / "clusters" / NAME / "overlay"
    private = (keys / f"{NAME}-node1").read_text().strip()
    assert (keys / f"{NAME}-node1").stat().st_mode & 0o077 == 0
    journal = (Path(cli.env["EHPC_STATE_DIR"]) / "state.db").read_bytes()
    assert private.encode() not in journal


def test_jobs_run_on_every_site_and_share_files(cli: Ehpc) -> None:
    out = cli.run("job", "submit", NAME, "--array", "1-12", "--cpus", "1", "--wait", "--",
                  "echo $SLURM_ARRAY_TASK_ID > /shared/jobs/mark-$(hostname); "
                  "sleep 1; hostname").stdout
    assert set(out.split()) == {f"{NAME}-node{i}" for i in (1, 2, 3, 4)}
    # A job on C reads what a job on B wrote.
    out = cli.run("job", "submit", NAME, "--array", "1-12", "--cpus", "1", "--wait", "--",
                  f"sleep 1; echo $(hostname) $(cat /shared/jobs/mark-{NAME}-node1)").stdout
    read = {line.split()[0]: line.split()[1:] for line in out.splitlines()}
    assert read[f"{NAME}-node3"] and read[f"{NAME}-node4"]
    assert read[f"{NAME}-node3"][0].isdigit()


def test_only_the_overlay_joins_the_sites(cli: Ehpc) -> None:
    nodes = {n["name"][len(NAME) + 1:]: n for n in cli.json("nodes", "list", NAME)}
    head = nodes["head"]["address"]
    # Within a site, and over the overlay: yes. Between sites: no route.
    assert reach("head", head, tries=5) and reach("node2", nodes["node1"]["address"], tries=5)
    assert reach("node1", "10.250.0.1", tries=5) and reach("node3", "10.250.0.1", tries=5)
    assert not reach("node1", head) and not reach("node3", head)
    assert not reach("node3", nodes["node1"]["address"])
    # The public segment lets in nothing but the overlay's port.
    public = f"10.202.{head.split('.')[2]}.10"
    assert not reach("node1", public, 22) and not reach("node3", public, 6817)
    # Overlay off: B and C lose the head.
    subprocess.run(["ip", "netns", "exec", f"ehpc.{NAME}.{NAME}-head", "ip", "link", "set",
                    "ehpc-wg", "down"], check=True)
    assert not reach("node1", "10.250.0.1") and not reach("node3", "10.250.0.1")
    assert not reach("node1", head) and not reach("node3", head)


def test_terminate_leaves_nothing(cli: Ehpc) -> None:
    pids = node_pids(NAME)
    cli.run("cluster", "terminate", NAME)
    assert leftovers(NAME, cli.local_root, Path(cli.env["EHPC_STATE_DIR"]), pids) == []
    left = {link["ifname"] for link in hostnet.links()}
    if not any(name.startswith("ehbr") for name in left):  # it was this machine's last cluster
        assert hostnet.PUBLIC_BRIDGE not in left  # (in a parallel run others may still need it)


def test_a_node_whose_overlay_fails_is_named_and_removed(tmp_path: Path) -> None:
    """node2's public link goes down while the create waits for SSH: its tunnel cannot reach
    the head, so it is removed and named, and the cluster works without it."""
    name = "plfail"
    cli = Ehpc(tmp_path / "state", ROOT / f"pl-{name}")
    netns = f"ehpc.{name}.{name}-node2"
    create = subprocess.Popen(
        [*cli_argv(), "cluster", "create", "--name", name, "--head", "local/a", "--pool", "local/b:1",
         "--pool", "local/c:1", "--local-root-dir", str(cli.local_root)],
        env=cli.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while "UP" not in subprocess.run(["ip", "-n", netns, "-br", "addr", "show", "eth1"],
                                         capture_output=True, text=True).stdout.split()[1:2]:
            assert time.monotonic() < deadline and create.poll() is None, "node2 never appeared"
            time.sleep(0.02)
        subprocess.run(["ip", "-n", netns, "link", "set", "eth1", "down"], check=True)
        _, err = create.communicate(timeout=300)
        assert create.returncode == 0, err
        assert f"{name}-node2" in err and "removed from the cluster" in err
        nodes = [n["name"] for n in cli.json("nodes", "list", name)]
        assert nodes == [f"{name}-head", f"{name}-node1"]
        assert netns not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        assert cli.run("job", "submit", name, "--wait", "--", "hostname").stdout.split() == [f"{name}-node1"]
    finally:
        create.kill()
        pids = node_pids(name)
        cli.run("cluster", "terminate", name, check=False)
        shutil.rmtree(cli.local_root, ignore_errors=True)
    assert leftovers(name, cli.local_root, tmp_path / "state", pids) == []
