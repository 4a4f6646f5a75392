"""A local node's own file system view: a persistent UTS + mount namespace per node.

Inside the node, /etc, /root and /var/lib are overlays of the host's (writes stay in the node),
/run, /var/log, /var/spool and /tmp are the node's own empty directories, and the cluster's
shared directory and /home (one per cluster, so users' homes are the same on every node) are
bind-mounted from the host. The node's resolv.conf names the host's upstream name servers. The
namespaces are bound to files in a per-cluster directory that is a private bind mount, so no
process has to hold them open.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from .commands import run

OVERLAYS = ("/etc", "/root", "/var/lib")
PRIVATE_DIRS = {"/run": "run", "/var/log": "log", "/var/spool": "spool", "/tmp": "tmp"}


def _mounted(path: Path) -> bool:
    target = str(path)
    with open("/proc/self/mountinfo") as info:
        return any(line.split()[4] == target for line in info)


def ensure_ns_dir(ns_dir: Path) -> None:
    ns_dir.mkdir(parents=True, exist_ok=True)
    if not _mounted(ns_dir):
        run(["mount", "--bind", str(ns_dir), str(ns_dir)])
        run(["mount", "--make-private", str(ns_dir)])


def release_ns_dir(ns_dir: Path) -> None:
    if _mounted(ns_dir):
        run(["umount", str(ns_dir)], check=False)


def setup_script(
    node: str, node_dir: Path, shared_host: Path | None, shared_dir: str, home_host: Path,
    resolv_conf: str,
) -> str:
    """The shell script run inside the new namespaces to build the node's view. Without
    `shared_host` the shared directory is left for the storage step (a GlusterFS volume)."""
    q = shlex.quote
    lines = ["set -e", f"hostname {q(node)}"]
    for target in OVERLAYS:
        layer = node_dir / target.strip("/").replace("/", "-")
        upper, work = layer / "upper", layer / "work"
        lines.append(f"mkdir -p {q(str(upper))} {q(str(work))}")
        options = f"lowerdir={target},upperdir={upper},workdir={work}"
        lines.append(f"mount -t overlay ehpc-overlay -o {q(options)} {q(target)}")
    lines.append(f"echo {q(node)} > /etc/hostname")
    # The host's /etc/resolv.conf may be a link into its /run, or name a loopback resolver.
    lines.append(f"rm -f /etc/resolv.conf && printf %s {q(resolv_conf)} > /etc/resolv.conf")
    for target, name in PRIVATE_DIRS.items():
        source = node_dir / name
        lines.append(f"mkdir -p {q(str(source))} && mount --bind {q(str(source))} {q(target)}")
    lines.append("chmod 1777 /tmp")
    lines.append(f"mount --bind {q(str(home_host))} /home")
    lines.append(f"mkdir -p {q(shared_dir)}")
    if shared_host is not None:
        lines.append(f"mount --bind {q(str(shared_host))} {q(shared_dir)}")
    return "\n".join(lines) + "\n"


def create_namespaces(netns: str, ns_dir: Path, node: str, script: str) -> None:
    """The node's UTS, mount and time namespaces. Nodes share one kernel; the time namespace
    gives each its own boot time (uptime starts at 0 when it is made), as a new machine has:
    Slurm's power saving only counts a node up once it booted after it was asked to resume."""
    uts, mnt, clock = (ns_dir / f"{node}.{kind}" for kind in ("uts", "mnt", "time"))
    for path in (uts, mnt, clock):
        path.touch()
    with open("/proc/uptime") as uptime:
        booted = int(float(uptime.read().split()[0]))
    run(
        [
            "nsenter", f"--net=/run/netns/{netns}",
            "unshare", f"--uts={uts}", f"--mount={mnt}", f"--time={clock}", "--boottime",
            f"-{booted}", "--propagation", "private",
            "sh", "-c", script,
        ]
    )


def has_namespaces(ns_dir: Path, node: str) -> bool:
    return _mounted(ns_dir / f"{node}.uts") and _mounted(ns_dir / f"{node}.mnt")


def release_namespaces(ns_dir: Path, node: str) -> None:
    for kind in ("mnt", "uts", "time"):
        path = ns_dir / f"{node}.{kind}"
        if _mounted(path):
            run(["umount", str(path)], check=False)
        path.unlink(missing_ok=True)
