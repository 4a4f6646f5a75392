"""A local node's own file system view: a persistent UTS + mount namespace per node.

Inside the node, /etc and /var/lib are overlays of the host's (writes stay in the node), /run,
/var/log, /var/spool, /tmp and /var/tmp are the node's own empty directories, and /home (one per
cluster, so users' homes are the same on every node) is bind-mounted from the host. The node's
resolv.conf names the host's upstream name servers. The node then moves into a root of its own
(see `node_root`): it sees the host's system directories but no other cluster's files, not the
host's /root, and no host directory a terminate could remove from under its mounts. The
namespaces are bound to files in a per-cluster directory that is a private bind mount, so no
process has to hold them open.
"""

from __future__ import annotations

import os
import shlex
import site
import sys
from pathlib import Path

import elastichpc

from ...errors import ProviderError
from ...state import state_dir
from .commands import run

OVERLAYS = ("/etc", "/var/lib")
PRIVATE_DIRS = {"/run": "run", "/var/log": "log", "/var/spool": "spool", "/tmp": "tmp",
                "/var/tmp": "vartmp"}


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
    node: str, node_dir: Path, cluster_dir: Path, shared_host: Path | None, shared_dir: str,
    home_host: Path, resolv_conf: str,
) -> str:
    """The shell script run inside the new namespaces to build the node's view. Without
    `shared_host` the shared directory is left for the storage step (a GlusterFS volume)."""
    q = shlex.quote
    lines = ["set -e", f"hostname {q(node)}"]
    # The Python lent to the node, held first: once /tmp and /run are the node's own, a checkout
    # or virtualenv under them is out of reach by path.
    lent = python_paths([cluster_dir.parent, state_dir()])
    for index, path in enumerate(lent):
        held = q(str(_held(node_dir, index)))
        lines += [f"mkdir -p {held}", f"mount --bind {q(path)} {held}"]
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
    lines.append("chmod 1777 /tmp /var/tmp")
    lines.append(f"mount --bind {q(str(home_host))} /home")
    lines += node_root(node_dir, cluster_dir, shared_host, shared_dir, lent)
    return "\n".join(lines) + "\n"


# ---- the node's own root ------------------------------------------------------------------
# Isolation between local clusters and from the host. The node's root is a directory of its
# own (<node dir>/rootfs) holding only: the host's system directories (SYSTEM_DIRS, as the node
# already sees them: with its overlays and private directories), empty directories of its own
# for /mnt, /srv, /media and anything made at the top level (so a mount point in a node never
# hangs on a host directory that someone else's terminate could remove), its own /root, its
# cluster's directory (NFS fallback exports live there), its shared directory, and read-only
# the Python the CLI runs (nodes run it: the head-node agent, workers), wherever it lives.
# Every other host path (other clusters' ROOT_DIRs, the state directory, the host's /root and
# /srv, checkouts) does not exist in the node. Jobs run as a per-cluster uid (provider).

# Every node shares the host's processes (one PID namespace), so its /proc shows a user only
# their own (root, and the host's, all): a job sees no other cluster's or host user's processes,
# command lines or environments, and cannot reach their files through /proc/PID/root.
PROC_OPTIONS = "nosuid,nodev,noexec,hidepid=invisible"
SYSTEM_DIRS = ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc", "opt", "var",
               "home", "run", "tmp", "dev", "proc", "sys")
OWN_DIRS = ("mnt", "srv", "media")


def python_paths(private: list[Path]) -> list[str]:
    """The host directories the CLI's Python needs (interpreter, libraries, this package) that
    a node would not see, but never one holding a `private` path (or the working directory)."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, str(Path(sys.executable).resolve().parent),
             site.getusersitepackages(), str(Path(elastichpc.__file__).resolve().parents[1])}
    paths.update(p for p in sys.path if p.startswith("/"))
    guarded = [p.resolve() for p in [*private, Path.cwd(), Path.home()]]
    found = sorted(
        str(path) for path in {Path(p).resolve() for p in paths if Path(p).is_dir()}
        if not _seen_in_node(path) and not any(g == path or g.is_relative_to(path) for g in guarded)
    )
    return [p for p in found if not any(p.startswith(o + "/") for o in found)]


def _seen_in_node(path: Path) -> bool:
    """Whether a node sees this host path as it is (not a directory of its own in its place)."""
    own = [Path("/home"), *map(Path, PRIVATE_DIRS)]
    return (len(path.parts) > 1 and path.parts[1] in SYSTEM_DIRS
            and not any(path.is_relative_to(o) for o in own))


def _held(node_dir: Path, index: int) -> Path:
    """Where setup_script holds the node's `index`-th lent Python path until node_root binds it."""
    return node_dir / "lent" / str(index)


def node_root(node_dir: Path, cluster_dir: Path, shared_host: Path | None,
              shared_dir: str, lent: list[str]) -> list[str]:
    q = shlex.quote
    root = node_dir / "rootfs"
    r = q(str(root))
    lines = [f"mkdir -p {r} && mount --bind {r} {r}"]
    for entry in sorted(Path("/").iterdir()):
        inside = q(str(root / entry.name))
        if entry.is_symlink():  # /bin -> usr/bin on merged-/usr systems
            lines.append(f"ln -sfn {q(str(entry.readlink()))} {inside}")
        elif entry.name == "proc":  # a /proc of its own, see PROC_OPTIONS
            lines.append(f"mkdir -p {inside} && mount -t proc -o {PROC_OPTIONS} ehpc-proc {inside}")
        elif entry.name in SYSTEM_DIRS and entry.is_dir():
            lines.append(f"mkdir -p {inside} && mount --rbind {q(str(entry))} {inside}")
    for name in OWN_DIRS:
        lines.append(f"mkdir -p {q(str(root / name))}")
    # No memory shared with other clusters through /dev/shm.
    lines.append(f"mount -t tmpfs -o mode=1777,nosuid,nodev ehpc-shm {q(str(root / 'dev/shm'))}")
    home = q(str(node_dir / "root"))
    # 0711: the node's own; others may only pass through to the Python below it.
    lines.append(f"mkdir -p {home} {r}/root && chmod 0711 {home} && mount --bind {home} {r}/root")
    for index, path in enumerate(lent):  # held by setup_script, read-only here
        inside = q(str(root / path.lstrip("/")))
        lines += [f"mkdir -p {inside}", f"mount --bind {q(str(_held(node_dir, index)))} {inside}",
                  f"mount -o remount,bind,ro {inside}"]
    inside = q(str(root / str(cluster_dir).lstrip("/")))
    lines.append(f"mkdir -p {inside} && mount --bind {q(str(cluster_dir))} {inside}")
    inside = q(str(root / shared_dir.lstrip("/")))
    lines.append(f"mkdir -p {inside}")
    if shared_host is not None:
        lines.append(f"mount --bind {q(str(shared_host))} {inside}")
    lines += [f"mkdir -p {r}/.oldroot", f"cd {r}", "pivot_root . .oldroot",
              "umount -l /.oldroot", "rmdir /.oldroot"]
    return lines


def create_namespaces(netns: str, ns_dir: Path, node: str, script: str) -> None:
    """The node's UTS, mount, IPC and time namespaces, `script` run in them (System V shared
    memory, semaphores and message queues are the node's own). Nodes share one kernel;
    the time namespace gives each its own boot time (uptime starts at 0 when it is made), as a
    new machine has: Slurm's power saving only counts a node up once it booted after it was
    asked to resume.

    Since Linux 6.18 namespace ids come from per-CPU batches, so a new mount namespace may get a
    lower id than an older one, and binding it in a namespace with a higher id is refused as a
    possible loop (EINVAL). That never happens from the host's first namespace, but does where
    ehpc itself runs in a mount namespace of its own (containers, pivot_root). On the CPU that
    numbered our own namespace every new id is higher: retry pinned to each CPU in turn."""
    uts, mnt, clock, ipc = (ns_dir / f"{node}.{kind}" for kind in ("uts", "mnt", "time", "ipc"))
    with open("/proc/uptime") as uptime:
        booted = int(float(uptime.read().split()[0]))
    argv = ["nsenter", f"--net=/run/netns/{netns}",
            "unshare", f"--uts={uts}", f"--mount={mnt}", f"--ipc={ipc}", f"--time={clock}", "--boottime",
            f"-{booted}", "--propagation", "private", "sh", "-c", script]
    refused = None
    for pin in [[], *(["taskset", "-c", str(cpu)] for cpu in sorted(os.sched_getaffinity(0)))]:
        release_namespaces(ns_dir, node)
        for path in (uts, mnt, clock, ipc):
            path.touch()
        try:
            run([*pin, *argv])
            return
        except ProviderError as err:
            if f"{mnt} failed: Invalid argument" not in str(err):
                raise
            refused = err
    assert refused is not None
    raise refused


def root_of(cluster: str, node: str) -> Path | None:
    """The ROOT_DIR whose cluster directory holds the node's mount namespace file, if bound."""
    tail = f"/{cluster}/ns/{node}.mnt"
    with open("/proc/self/mountinfo") as info:
        found = [line.split()[4] for line in info if line.split()[4].endswith(tail)]
    return Path(found[0][: -len(tail)]) if found else None


def has_namespaces(ns_dir: Path, node: str) -> bool:
    return _mounted(ns_dir / f"{node}.uts") and _mounted(ns_dir / f"{node}.mnt")


def release_namespaces(ns_dir: Path, node: str) -> None:
    for kind in ("mnt", "uts", "time", "ipc"):
        path = ns_dir / f"{node}.{kind}"
        if _mounted(path):
            run(["umount", str(path)], check=False)
        path.unlink(missing_ok=True)
