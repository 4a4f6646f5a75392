"""The embedded default provider: every node is a real Linux host on this machine.

A node is a network namespace on the cluster's bridge with a private address, its own host name
and mount namespace (see nodefs), running sshd. Its "boot script" (what user-data is on a cloud)
is run inside it as root once the namespaces exist, exactly as cloud-init would run it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from pathlib import Path

from ...config import ClusterSpec
from ...errors import ConfigError, EhpcError, PrerequisiteError, ProviderError
from ...system_packages import require_packages
from ..base import Machine, NodePlan, Provider, Report, no_report
from ..preview import MachineGroup, Preview
from . import control, hostfw, hostnet, limits, nodefs
from .commands import node_argv, run
from .disks import LocalDisks
from .files import exclusive, read_json
from .hostnet import Network

HOST_TOOLS = {  # command -> Debian package
    "ip": "iproute2",
    "nsenter": "util-linux",
    "unshare": "util-linux",
    "sshd": "openssh-server",
    "ssh": "openssh-client",
    "nft": "nftables",
}


OVERLAY_TOOLS = {"nft": "nftables", "wg": "wireguard-tools", "wireguard-go": "wireguard-go"}

NETWORK_LOCK = Path("/run/ehpc/local-network.lock")
RECLAIMED = "reclaimed"  # marker in a node's directory: `ehpc node reclaim` took it away
# + the cluster's subnet number: the cluster user's uid and gid. Below 20000, where Grid Engine
# hands out the group ids it tracks (and kills) each job's processes by.
UID_BASE = 10000


class LocalProvider(LocalDisks, Provider):
    name = "local"

    @property
    def root(self) -> Path:
        return Path(self.settings.get("LOCAL", "ROOT_DIR"))

    def cluster_dir(self, cluster: str) -> Path:
        return self.root / cluster

    def check_ready(self, spec: ClusterSpec | None = None) -> None:
        if os.geteuid() != 0:
            raise PrerequisiteError(
                "the local provider needs root (it makes network namespaces, bridges and "
                "mounts): run ehpc as root"
            )
        require_packages(HOST_TOOLS, "local clusters")
        if spec is not None and spec.overlay:
            require_packages(OVERLAY_TOOLS, "the overlay between sites")
        with open("/proc/filesystems") as fs:
            if "overlay" not in fs.read():
                raise PrerequisiteError("the kernel has no overlay file system (needed for nodes)")
        if spec is not None:
            _check_size(spec)

    def preview(self, spec: ClusterSpec, groups: list[MachineGroup]) -> Preview:
        self.price(spec, groups)
        existing = next(p for p in (self.root, *self.root.parents) if p.exists())
        free_gb = shutil.disk_usage(existing).free / 2**30
        found = Preview(region="this machine")
        found.check("disk space", free_gb >= 2, f"{free_gb:.0f} GiB free for node files under "
                    f"{self.root}")
        return found

    def price(self, spec: ClusterSpec, groups: list[MachineGroup]) -> None:
        for group in groups:
            group.hourly, group.price_source = 0.0, "this machine"

    # ---- layout on disk --------------------------------------------------------------------
    def _meta_path(self, cluster: str) -> Path:
        return self.cluster_dir(cluster) / "cluster.json"

    def _read_meta(self, cluster: str) -> dict:
        return read_json(self._meta_path(cluster))

    def _free_subnet(self) -> int:
        taken = hostnet.used_subnets()
        for path in self.root.glob("*/cluster.json"):
            meta = read_json(path)
            taken |= {meta.get("subnet", 0), *meta.get("sites", {}).values()}
        free = [k for k in range(1, 255) if k not in taken]
        if not free:
            raise ProviderError("no free 10.201.k.0/24 range left for another cluster or site")
        return free[0]

    def _network(self, spec: ClusterSpec, plans: list[NodePlan]) -> tuple[Network, dict[str, int]]:
        """The site's network (made if new) and every planned node's slot: its number within the
        cluster, kept for good, from which its addresses follow whatever the plan's order."""
        site = spec.settings.get("LOCAL", "SITE") or ""
        # Serializes subnet choice and bridge creation between concurrent creates, host-wide:
        # clusters under other ROOT_DIRs share the host's address ranges; sites of one cluster
        # launch at once.
        with exclusive(NETWORK_LOCK):
            meta = self._read_meta(spec.name)
            if not meta:
                # Names of local clusters are host-wide (namespaces, links): one made under
                # another ROOT_DIR must not be taken over (or torn down) by this create.
                if any(n.startswith(f"ehpc.{spec.name}.") for n in hostnet.netns_names()):
                    raise ProviderError(
                        f"a local cluster named {spec.name} already exists on this machine "
                        f"under another ROOT_DIR than {self.root}: pick another name"
                    )
                if hostnet.tagged_links(spec.name):  # a create elsewhere, or what one left
                    raise ProviderError(
                        f"network links tagged with cluster {spec.name} are on this machine (a "
                        f"create under another ROOT_DIR, or what one left: `ehpc cluster "
                        f"terminate {spec.name}` removes them): pick another name"
                    )
                meta = {"name": spec.name, "created": time.time()}
            sites = meta.setdefault("sites", {})
            if "subnet" in meta:
                sites.setdefault("", meta["subnet"])  # a cluster made before sites
            if site not in sites:
                sites[site] = self._free_subnet()
            meta.setdefault("subnet", sites[site])  # the first site's number: the cluster's
            slots: dict[str, int] = meta.setdefault("slots", {})
            for plan in plans:
                if plan.name not in slots:
                    marker = read_json(self.cluster_dir(spec.name) / "nodes" / plan.name / "machine.json")
                    used = set(slots.values())
                    slots[plan.name] = marker.get("extra", {}).get("slot", min(
                        set(range(hostnet.MAX_SLOTS)) - used))
            self.cluster_dir(spec.name).mkdir(parents=True, exist_ok=True)
            self._meta_path(spec.name).write_text(json.dumps(meta))
            network = hostnet.Network(sites[site], hostnet.ensure_bridge(sites[site], spec.name),
                                      meta["subnet"] if spec.overlay else None)
            if spec.overlay:
                hostnet.ensure_public_bridge()
            hostfw.ensure()
        return network, slots

    def cluster_uid(self, cluster: str) -> int:
        """Unique among the clusters on this host (their subnets are), so a job of one cluster
        can never act on another's processes or files as the same user."""
        return UID_BASE + int(self._read_meta(cluster)["subnet"])

    # ---- launch ------------------------------------------------------------------------------
    def launch(self, spec: ClusterSpec, plans: list[NodePlan], report: Report) -> list[Machine]:
        self._check_spot_capacity(spec, plans)
        network, slots = self._network(spec, plans)
        cdir = self.cluster_dir(spec.name)
        if any(plan.role == "head" for plan in plans):  # on the head's own network
            control.ensure_server(cdir, spec, network.index)
        ns_dir = cdir / "ns"
        nodefs.ensure_ns_dir(ns_dir)
        shared = cdir / "shared"
        shared.mkdir(exist_ok=True)
        (cdir / "home").mkdir(exist_ok=True)
        existing = set(hostnet.netns_names())
        done = 0

        def launch_one(plan: NodePlan) -> Machine:
            nonlocal done
            machine = self._machine_for(spec, network, slots[plan.name], plan)
            marker = cdir / "nodes" / plan.name / "machine.json"
            with exclusive(self._node_lock(spec.name, plan.name)):  # a reclaim may be wiping it
                complete = marker.exists() and machine.provider_id in existing
                if complete and nodefs.has_namespaces(ns_dir, plan.name):
                    machine.state = "running"
                else:
                    self._destroy_node(spec.name, plan.name, machine.provider_id)
                    self._create_node(spec, machine, network, ns_dir, shared)
                    marker.write_text(json.dumps(machine.__dict__))
                (marker.parent / RECLAIMED).unlink(missing_ok=True)
            cgroups = limits.create(marker.parent, machine.provider_id,
                                    spec.settings.get("LOCAL", "NODE_CPUS"),
                                    spec.settings.get("LOCAL", "NODE_MEMORY"))
            self._boot(spec.name, machine, limits.enter_script(cgroups) + plan.boot_script)
            done += 1
            report(f"{done}/{len(plans)} nodes running")
            return machine

        with ThreadPoolExecutor(max_workers=8) as pool:
            return list(pool.map(launch_one, plans))

    def _machine_for(self, spec: ClusterSpec, network: Network, slot: int, plan: NodePlan) -> Machine:
        address = hostnet.node_address(network.index, slot)
        extra: dict[str, object] = {"veth": f"eh{network.index}n{slot}", "slot": slot,
                                    "site": spec.settings.get("LOCAL", "SITE") or ""}
        # What the scheduler is told of the node (else what the node itself shows: the host's)
        for key, setting in (("cpus", "NODE_CPUS"), ("memory_mb", "NODE_MEMORY")):
            if spec.settings.get("LOCAL", setting):
                extra[key] = spec.settings.get("LOCAL", setting)
        if network.public is not None:
            extra["public_address"] = hostnet.public_address(network.public, slot)
        return Machine(
            name=plan.name,
            role=plan.role,
            provider_id=f"ehpc.{spec.name}.{plan.name}",
            address=address,
            private_address=address,
            state="running",
            login_user="root",
            spot=plan.spot,
            extra=extra,
        )

    def _create_node(
        self, spec: ClusterSpec, machine: Machine, network: Network, ns_dir: Path, shared: Path
    ) -> None:
        node_dir = self.cluster_dir(spec.name) / "nodes" / machine.name
        node_dir.mkdir(parents=True, exist_ok=True)
        hostnet.add_node_link(
            machine.provider_id, machine.extra["veth"], network.bridge, machine.address, spec.name
        )
        if network.public is not None:  # the overlay's way between sites, its port only
            hostnet.add_public_link(machine.provider_id, f"eh{network.index}p{machine.extra['slot']}",
                                    machine.extra["public_address"], spec.name, network.public)
        # With GlusterFS the volume is mounted there; with an overlay, NFS from the head.
        elsewhere = spec.settings.get("CLUSTER", "GLUSTER") or spec.overlay
        script = nodefs.setup_script(
            machine.name, node_dir, self.cluster_dir(spec.name), None if elsewhere else shared,
            spec.shared_dir, self.cluster_dir(spec.name) / "home", hostnet.resolv_conf(),
        )
        nodefs.create_namespaces(machine.provider_id, ns_dir, machine.name, script)

    def _boot(self, cluster: str, machine: Machine, boot_script: str) -> None:
        argv = node_argv(
            machine.provider_id, str(self.cluster_dir(cluster) / "ns"), machine.name, ["bash", "-s"]
        )
        try:
            run(argv, input=boot_script)
        except ProviderError as err:
            raise ProviderError(f"{machine.name}: boot script failed: {err}") from None

    def allow_overlay(self, cluster: str, port: int, sources: list[str]) -> None:
        """Already so: each node's own firewall lets the port in from the cluster's public range
        (hostnet.public_firewall)."""

    # ---- inventory -----------------------------------------------------------------------------
    def machines(self, cluster: str) -> list[Machine]:
        prefix = f"ehpc.{cluster}."
        found = []
        for netns in hostnet.netns_names():
            if not netns.startswith(prefix):
                continue
            node = netns[len(prefix):]
            marker = self.cluster_dir(cluster) / "nodes" / node / "machine.json"
            try:
                machine = Machine(**read_json(marker))
            except TypeError:  # no record (yet): the namespace exists, the rest is unknown
                machine = Machine(node, "unknown", netns, "", "", "pending", "root")
            machine.state = "running" if hostnet.netns_pids(netns) else "stopped"
            found.append(machine)
        for mark in (self.cluster_dir(cluster) / "nodes").glob(f"*/{RECLAIMED}"):
            record = read_json(mark.parent / "machine.json")
            if record and prefix + mark.parent.name not in {m.provider_id for m in found}:
                gone = Machine(**record)
                gone.state = "preempted"  # as a cloud shows a spot machine it took back
                found.append(gone)
        return sorted(found, key=lambda m: (m.role != "head", m.extra.get("slot", 0), m.name))

    # ---- single nodes, spot reclaim, the agent's access -------------------------------------
    def terminate_nodes(self, cluster: str, names: list[str], report: Report = no_report) -> list[str]:
        prefix = f"ehpc.{cluster}."
        with ThreadPoolExecutor(max_workers=8) as pool:
            removed = list(pool.map(lambda n: self._destroy_node(cluster, n, prefix + n), names))
        for name in names:
            shutil.rmtree(self.cluster_dir(cluster) / "nodes" / name, ignore_errors=True)
        return [f"node {name}" for name in removed]

    def _capacity_mark(self, cluster: str, site: str) -> Path:
        return self.cluster_dir(cluster) / f"no-spot-capacity-{site or 'default'}"

    def _check_spot_capacity(self, spec: ClusterSpec, plans: list[NodePlan]) -> None:
        """A site whose spot capacity was taken back refuses spot launches for a while, as a
        cloud answers "insufficient capacity" (`ehpc node reclaim --no-capacity SECONDS`)."""
        site = spec.settings.get("LOCAL", "SITE") or ""
        mark = self._capacity_mark(spec.name, site)
        until = float(mark.read_text()) if mark.exists() else 0.0
        if any(plan.spot for plan in plans) and until > time.time():
            raise ProviderError(f"local site {site or 'default'}: no spot capacity for "
                                f"{until - time.time():.0f}s more")

    def _node_lock(self, cluster: str, node: str) -> Path:
        return self.cluster_dir(cluster) / "locks" / f"{node}.lock"

    def reclaim(self, cluster: str, node: str, no_capacity_s: float = 0.0) -> None:
        """Take a spot node away as a cloud does: its machine stops existing at once, with no
        shutdown of its daemons; the provider then shows it as preempted. `no_capacity_s`: its
        site has no spot capacity for that long (launches there are refused)."""
        marker = self.cluster_dir(cluster) / "nodes" / node / "machine.json"
        record = read_json(marker)
        if not record or f"ehpc.{cluster}.{node}" not in hostnet.netns_names():
            raise EhpcError(f"cluster {cluster} has no running node {node!r}")
        if not record.get("spot"):
            raise EhpcError(f"{node} is not a spot node: only spot capacity is reclaimed")
        # The head agent sees the node lost as soon as its processes are gone, and may launch
        # its replacement while this still wipes the node's files: one of them at a time.
        with exclusive(self._node_lock(cluster, node)):
            self._destroy_node(cluster, node, f"ehpc.{cluster}.{node}", grace=0.0)
            shutil.rmtree(marker.parent)  # its disk is gone: a replacement starts fresh
            marker.parent.mkdir()
            marker.write_text(json.dumps(record))
            (marker.parent / RECLAIMED).write_text(str(time.time()))
        if no_capacity_s > 0:
            self._capacity_mark(cluster, record.get("extra", {}).get("site", "")).write_text(
                str(time.time() + no_capacity_s))

    def agent_access(self, cluster: str) -> dict[str, str]:
        record = read_json(control.record_path(self.cluster_dir(cluster)))
        if not record:
            raise ProviderError(f"cluster {cluster} has no control endpoint (launch its head first)")
        return {"control_url": f"http://{record['address']}:{record['port']}",
                "control_token": record["token"]}

    # ---- terminate -----------------------------------------------------------------------------
    def terminate(self, cluster: str, report: Report) -> list[str]:
        removed: list[str] = []
        if control.stop_server(self.cluster_dir(cluster)):
            removed.append("control endpoint")
        prefix = f"ehpc.{cluster}."
        nodes = [n[len(prefix):] for n in hostnet.netns_names() if n.startswith(prefix)]
        # A name is host-wide: never tear down a cluster that lives under another ROOT_DIR.
        elsewhere = {r for n in nodes if (r := nodefs.root_of(cluster, n)) and r != self.root}
        if elsewhere and not self._meta_path(cluster).exists():
            root = min(elsewhere)
            raise ProviderError(f"local cluster {cluster} lives under ROOT_DIR {root}, not "
                                f"{self.root}: terminate it with --local-root-dir {root}")
        if nodes:
            report(f"stopping {len(nodes)} nodes")
        with ThreadPoolExecutor(max_workers=8) as pool:
            for node in pool.map(lambda n: self._destroy_node(cluster, n, prefix + n), nodes):
                removed.append(f"node {node}")
        removed += self.release_cluster_disks(cluster)  # nodes gone: their mounts too
        with exclusive(NETWORK_LOCK):
            for link in hostnet.tagged_links(cluster):
                hostnet.delete_link(link)
                removed.append(f"link {link}")
            left = [link["ifname"] for link in hostnet.links()]
            hostfw.release(left)
            hostnet.release_public_bridge(left)
        cdir = self.cluster_dir(cluster)
        ns_dir = cdir / "ns"
        if ns_dir.exists():
            for leftover in ns_dir.glob("*.mnt"):
                nodefs.release_namespaces(ns_dir, leftover.stem)
            nodefs.release_ns_dir(ns_dir)
        if cdir.exists():
            shutil.rmtree(cdir)
            removed.append(f"directory {cdir}")
        return removed

    def _destroy_node(self, cluster: str, node: str, netns: str, grace: float = 5.0) -> str:
        _kill_all(lambda: hostnet.netns_pids(netns) if netns in hostnet.netns_names() else [], grace)
        nodefs.release_namespaces(self.cluster_dir(cluster) / "ns", node)
        hostnet.delete_netns(netns)
        limits.remove(self.cluster_dir(cluster) / "nodes" / node)
        return node


def _check_size(spec: ClusterSpec) -> None:
    """NODE_CPUS and NODE_MEMORY within this machine's: a scheduler drains a node that has
    fewer CPUs or less memory than it was told."""
    cpus, memory_mb = spec.settings.get("LOCAL", "NODE_CPUS"), spec.settings.get("LOCAL", "NODE_MEMORY")
    have_cpus = len(os.sched_getaffinity(0))
    if cpus and cpus > have_cpus:
        raise ConfigError(f"[LOCAL] NODE_CPUS {cpus}: this machine has {have_cpus} CPUs")
    with open("/proc/meminfo") as info:
        have_mb = next(int(line.split()[1]) // 1024 for line in info if line.startswith("MemTotal:"))
    if memory_mb and memory_mb > have_mb:
        raise ConfigError(f"[LOCAL] NODE_MEMORY {memory_mb}: this machine has {have_mb} MB")


def _kill_all(pids_of: Callable[[], list[int]], grace: float = 5.0) -> None:
    """TERM every process of a node, then KILL what is left after `grace` seconds."""
    start = time.monotonic()
    while pids := pids_of():
        waited = time.monotonic() - start
        if waited > 3 * grace + 5:
            raise ProviderError(f"processes {pids} would not exit")
        for pid in pids:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM if waited < grace else signal.SIGKILL)
        time.sleep(0.1)

