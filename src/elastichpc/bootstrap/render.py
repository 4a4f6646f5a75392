"""Render the bootstrap scripts: plain bash, the same for every provider.

A rendered script is a header of shell variables (file contents base64-encoded, every value
quoted), the library functions from scripts/, and the steps to run. Providers deliver the boot
script as user-data; the configure script reaches each node over SSH on standard input, so
secrets (the munge key, the host keys) never appear on a command line or in a log.
"""

from __future__ import annotations

import base64
import importlib
import shlex
from functools import cache
from pathlib import Path
from types import ModuleType

from . import clients
from .layout import ClusterLayout, NodeFacts

SCRIPTS = Path(__file__).parent / "scripts"
NODE_COMMANDS = {"sshd": "openssh-server", "mpirun": "openmpi-bin", "mpicc": "libopenmpi-dev",
                 "gcc": "gcc"}


def scheduler_setup(scheduler: str) -> ModuleType:
    """The bootstrap module of a scheduler (bootstrap/<name>.py)."""
    return importlib.import_module(f"elastichpc.bootstrap.{scheduler}")


def required_commands(scheduler: str) -> dict[str, str]:
    """Commands a node needs (command -> Debian package) for this scheduler."""
    return {**NODE_COMMANDS, **scheduler_setup(scheduler).COMMANDS}


@cache
def _library(name: str) -> str:
    return (SCRIPTS / name).read_text()


def _b64(text: str | bytes) -> str:
    data = text.encode() if isinstance(text, str) else text
    return base64.b64encode(data).decode()


def _script(title: str, variables: dict[str, str], libraries: list[str], steps: list[str]) -> str:
    lines = ["#!/bin/bash", f"# ElasticHPC {title}", "set -Eeuo pipefail", "umask 022",
             # a failing step says which, in one line on stderr (the console log at boot)
             """trap 'rc=$?; echo "ehpc-error: $(hostname): failed (exit $rc): $BASH_COMMAND" >&2' ERR"""]
    return "\n".join(lines) + "\n" + _fragment(variables, ["common.sh", *libraries], steps)


def _fragment(variables: dict[str, str], libraries: list[str], steps: list[str]) -> str:
    """Variables, libraries and steps: a script's body, or more steps for the end of one."""
    lines = [f"{key}={shlex.quote(value)}" for key, value in variables.items()]
    lines += [_library(name) for name in libraries]
    lines += steps
    return "\n".join(lines) + "\n"


def boot_script(
    node: str, login_user: str, cluster_pubkey: str, host_key: tuple[str, str] | None = None
) -> str:
    """First-boot script (user-data): host name ("" when many nodes share the script), login
    user and key, sshd. `host_key` (private, public) only where the script travels no metadata
    service (the local provider); elsewhere the node makes its own and prints the public half."""
    variables = {
        "EHPC_IN_BOOT": "1",
        "EHPC_NODE": node,
        "EHPC_LOGIN_USER": login_user,
        "EHPC_CLUSTER_PUBKEY": cluster_pubkey.strip(),
    }
    if host_key:
        variables.update(EHPC_HOST_KEY=_b64(host_key[0]), EHPC_HOST_KEY_PUB=_b64(host_key[1]))
    return _script(f"boot script for {node or 'nodes'}", variables, ["boot.sh"], ["ehpc_boot"])


def _layout_variables(layout: ClusterLayout, node: NodeFacts) -> dict[str, str]:
    variables = {
        "EHPC_NODE": node.name,
        "EHPC_ROLE": node.role,
        "EHPC_USER": layout.cluster_user,
        "EHPC_UID": str(layout.cluster_uid),
        "EHPC_SHARED": layout.shared_dir,
        "EHPC_HOMES": layout.homes,
        "EHPC_HOSTS": _b64(layout.hosts_block()),
        "EHPC_MUNGE_KEY": _b64(layout.munge_key),
        "EHPC_KNOWN_HOSTS": _b64(layout.known_hosts()),
        "EHPC_PACKAGES": " ".join(layout.packages),
    }
    files = {**scheduler_setup(layout.scheduler).files(layout), **clients.files(layout)}
    variables.update({key: _b64(text) for key, text in files.items()})
    return variables


def configure_script(layout: ClusterLayout, node: NodeFacts) -> str:
    """Joins a node to the cluster: hosts, user, shared directory, munge, scheduler role."""
    setup = scheduler_setup(layout.scheduler)
    return _script(
        f"configure script for {node.name} ({node.role})",
        _layout_variables(layout, node),
        ["node.sh", "software.sh", *setup.SCRIPTS, "clients.sh"],
        ["ehpc_node", "ehpc_software", setup.STEPS[node.role], "ehpc_clients"],
    )


def install_script(scheduler: str, role: str, packages: list[str], user: str = "ehpcuser") -> str:
    """Installs `packages` on a node of a running cluster, then restarts what must read them
    (Slurm's slurmd on a compute node: it finds PMIx only at start). `user`, the cluster
    user, gets what podman needs once the node has it."""
    setup = scheduler_setup(scheduler)
    after = getattr(setup, "AFTER_INSTALL", {}).get(role)
    return _script(f"install of {' '.join(packages)}",
                   {"EHPC_PACKAGES": " ".join(packages), "EHPC_USER": user},
                   ["software.sh", *setup.SCRIPTS], ["ehpc_software", *([after] if after else [])])


def membership_script(
    layout: ClusterLayout, node: NodeFacts, added: list[NodeFacts], removed: list[str]
) -> str:
    """For a node that stays when others join or leave: the new hosts block and scheduler files;
    on the head, the scheduler learns who joined (before they start) and who left."""
    setup = scheduler_setup(layout.scheduler)
    variables = {
        **_layout_variables(layout, node),
        "EHPC_ADDED": _b64(",".join(f"{n.name}:{n.cpus}" for n in added)),
        "EHPC_REMOVED": _b64(",".join(removed)),
    }
    return _script(
        f"membership script for {node.name} ({node.role})",
        variables,
        ["node.sh", *setup.SCRIPTS, "clients.sh"],
        ['ehpc_hosts_block <<< "$EHPC_HOSTS"', "ehpc_known_hosts", setup.MEMBERSHIP[node.role],
         "ehpc_clients"],
    )


def known_hosts_script(layout: ClusterLayout, node: NodeFacts) -> str:
    """For a node that stays when declared nodes (Slurm's CLOUD nodes) start: their host keys."""
    return _script(f"known hosts for {node.name}", _layout_variables(layout, node), ["node.sh"],
                   ["ehpc_known_hosts"])
