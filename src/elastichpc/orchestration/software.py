"""Debian packages on every node, present and future: [SOFTWARE] PACKAGES at create and
`ehpc cluster install` on a running cluster, which records them in the cluster's settings (and
the head agent's copy), so every configure script built later (resize, autoscale, spot repair,
failover) installs them too.

Cloud nodes install them with apt from their configure script. Local nodes run this machine's
/usr, so the client installs them here (apt-get, which waits for dpkg's lock) before any node
uses them. A name is checked before anything is made: its syntax always (the schema), and
against this machine's apt-cache when it has one (always, for the local provider)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from ..bootstrap import install_script
from ..config import CAPABILITIES, ClusterSpec, Settings
from ..config.schema import to_packages
from ..errors import ConfigError, EhpcError, PrerequisiteError
from ..remote import in_parallel
from ..state import Journal, NodeRow
from .context import ClusterContext, open_cluster
from .progress import Progress

APT_ENV = {"DEBIAN_FRONTEND": "noninteractive"}


def unknown_packages(names: list[str]) -> list[str]:
    """The names this machine's apt-cache has no installable version of ([] without apt)."""
    if not names or shutil.which("apt-cache") is None:
        return []
    out = subprocess.run(["apt-cache", "policy", *names], capture_output=True, text=True).stdout
    candidates: dict[str, str] = {}
    package = ""
    for line in out.splitlines():
        if not line.startswith(" ") and line.endswith(":"):
            package = line[:-1]
        elif line.strip().startswith("Candidate:"):
            candidates[package] = line.split(":", 1)[1].strip()
    return [n for n in names if candidates.get(n.split(":")[0], "(none)") == "(none)"]


def check_packages(names: list[str], local: bool) -> None:
    """One line for a name no node could install."""
    if local and shutil.which("apt-get") is None:
        raise PrerequisiteError("[SOFTWARE] PACKAGES on local nodes needs apt-get on this machine")
    unknown = unknown_packages(names)
    if unknown:
        raise ConfigError(f"no Debian package {', '.join(unknown)} (apt-cache policy on this "
                          "machine knows no installable version)")


def companions(names: list[str]) -> list[str]:
    """`names` with what our node script needs for them on this machine: rootless podman needs
    newuidmap (uidmap), and runc where crun refuses this machine's cgroups (a hybrid hierarchy
    whose v2 part has controllers); cloud nodes install these from their script."""
    extra = []
    if "podman" in names:
        extra.append("uidmap")
        controllers = Path("/sys/fs/cgroup/unified/cgroup.controllers")
        if controllers.exists() and controllers.read_text().strip():
            extra.append("runc")
    return list(dict.fromkeys([*names, *extra]))


def install_here(names: list[str], progress: Progress) -> None:
    """Install on this machine, whose /usr the local nodes run."""
    missing = [n for n in companions(names) if not _installed(n)]
    if not missing:
        return
    with progress.step(f"installing {' '.join(missing)} on this machine (local nodes share its /usr)"):
        result = subprocess.run(
            ["apt-get", "install", "-y", "-q", "--no-install-recommends",
             "-o", "DPkg::Lock::Timeout=600", *missing],
            env={**os.environ, **APT_ENV}, capture_output=True, text=True)
    if result.returncode != 0:
        last = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise EhpcError(f"apt-get could not install {' '.join(missing)}: {last[0]}")


def _installed(name: str) -> bool:
    status = subprocess.run(["dpkg-query", "-W", "-f=${Status}", name],
                            capture_output=True, text=True).stdout
    return status.endswith("install ok installed")


def _local(spec: ClusterSpec) -> bool:
    return any(CAPABILITIES[p].shares_host_software for p in spec.providers)


def check_spec_packages(spec: ClusterSpec) -> None:
    if spec.packages:
        check_packages(spec.packages, _local(spec))


def install_packages(name: str, packages: list[str], progress: Progress,
                     journal: Journal | None = None, settings: Settings | None = None) -> list[str]:
    """Install `packages` on every running node of cluster `name` and record them; returns the
    cluster's packages afterwards."""
    packages = to_packages(" ".join(packages)) if packages else []
    if not packages:
        raise ConfigError("cluster install needs one or more package names")
    context = open_cluster(name, journal, settings)
    with context.journal.cluster_lock(name, "getting packages"):
        return _install(context, packages, progress)


def _install(context: ClusterContext, packages: list[str], progress: Progress) -> list[str]:
    name = context.name
    if context.row.status != "running":
        raise EhpcError(f"cluster {name} is {context.row.status}: packages are installed on a "
                        "running cluster only")
    spec = context.spec
    check_packages(packages, _local(spec))
    recorded = list(dict.fromkeys([*spec.packages, *packages]))
    if recorded != spec.packages:
        _record(context, recorded, progress)
    if _local(spec):
        install_here(packages, progress)
    nodes = [n for n in context.journal.nodes(name) if n.status == "running"]
    shell = context.shell  # made here: it reads the journal, whose connection is this thread's

    def install(node: NodeRow) -> None:
        here = CAPABILITIES[node.provider].shares_host_software if node.provider else _local(spec)
        script = install_script(spec.scheduler, node.role, [] if here else packages,
                                spec.cluster_user)
        shell.run(node.name, ["bash", "-s"], input=script)

    with progress.step(f"installing {' '.join(packages)} on {len(nodes)} nodes"):
        in_parallel(install, nodes)
    context.journal.event(name, "installed", " ".join(packages))
    return recorded


def _record(context: ClusterContext, packages: list[str], progress: Progress) -> None:
    """The cluster's settings with these packages, here and in the head agent's copy (it builds
    the configure scripts of the nodes it adds)."""
    from ..agent.install import has_agent, update_agent

    spec = context.spec
    spec.settings.put("SOFTWARE", "PACKAGES", packages, "ehpc cluster install")
    context.journal.set_spec(context.name, spec.to_public(), f"packages: {' '.join(packages)}")
    context.row = context.journal.get_cluster(context.name) or context.row
    if has_agent(context):
        update_agent(context, progress)
