"""Pinning cloud nodes' SSH host keys without any private key in user-data or metadata.

Each cloud node keeps the host key its image made at first boot (cloud-init and the guest
agents make one per instance), or makes one, and its boot script prints the public half on the
console as `ehpc-host-key <type> <key>`. The CLI reads the head's key through the cloud's API
(EC2 console output, the GCE serial port, Azure boot diagnostics): an answer signed by the
cloud's credentials, about that instance. The compute nodes' keys are then read from the head
(ssh-keyscan over the cluster's private network) through the head's verified connection: one
command for any number of nodes, where reading every console would be one API call per node.
A pinned key belongs to one instance: a node launched again under its name is learned again.

The local provider hands each node its key in the boot script (no metadata service sees it):
those keys are known before any node starts.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

from ..errors import ProviderError
from ..providers import Machine, Provider
from ..remote import ClusterKeys, ClusterShell, SshHost, in_parallel, write_ssh_files
from .progress import Progress

if TYPE_CHECKING:
    from .fleet import Fleet

# The line may come with a prefix (a GCE guest agent writes "... startup-script: " first).
CONSOLE_KEY = re.compile(r"(?:^|\s)ehpc-host-key (ssh-ed25519 [A-Za-z0-9+/=]+)\s*$", re.MULTILINE)
# A WireGuard public key, printed by a node joining an overlay cluster later (overlay.sh).
OVERLAY_KEY = re.compile(r"(?:^|\s)ehpc-overlay-key ([A-Za-z0-9+/]{43}=)\s*$", re.MULTILINE)
POLL_SECONDS = 5.0


def known_key(provider: Provider, keys: ClusterKeys, machine: Machine) -> str:
    """The pinned key of this machine ("" when none, or when it was another instance's)."""
    line = keys.known_host_key(machine.name)
    if provider.capabilities.private_boot or not line:
        return line
    words = line.split()
    return " ".join(words[:2]) if words[2:] == [machine.provider_id] else ""


def ssh_hosts(fleet: Fleet, keys: ClusterKeys, machines: list[Machine]) -> list[SshHost]:
    return [SshHost(m.name, m.private_address if fleet.from_head else m.address, m.private_address,
                    m.login_user, known_key(fleet.provider_of(m), keys, m)) for m in machines]


def write_known_ssh(fleet: Fleet, keys: ClusterKeys, machines: list[Machine]) -> None:
    """ssh_config for every machine, known_hosts for those whose key is known."""
    head = next(m for m in machines if m.role == "head")
    write_ssh_files(keys.directory, keys.identity, ssh_hosts(fleet, keys, machines), jump=head.name)


def console_key(text: str, pattern: re.Pattern[str] = CONSOLE_KEY) -> str:
    """The first key printed in this console text ("" when none yet): our boot script prints
    it at first boot, before any other program of the instance could print a false one."""
    found = pattern.search(text.replace("\r", ""))
    return found.group(1) if found else ""


def read_console_key(provider: Provider, machine: Machine, pattern: re.Pattern[str] = CONSOLE_KEY,
                     what: str = "SSH host key", timeout: float = 900.0) -> str:
    """Poll the machine's console until its boot script has printed its key: soon after the
    first ask, then every POLL_SECONDS (each ask is an API call)."""
    deadline, asked = time.monotonic() + timeout, 0
    while True:
        asked += 1
        key = console_key(provider.console_output(machine), pattern)
        if key:
            return key
        if time.monotonic() > deadline:
            raise ProviderError(f"{machine.name} printed no {what} on its console within "
                                f"{timeout:.0f}s: did its boot script run? (see its console log)")
        time.sleep(min(asked, POLL_SECONDS))


def scan_keys(shell: ClusterShell, head: str, machines: list[Machine],
              timeout: float = 900.0) -> dict[str, str]:
    """Node name -> host key, read by the head over the private network (nodes still booting
    are asked again until they answer)."""
    by_address = {m.private_address: m.name for m in machines}
    found: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    while True:
        todo = sorted(a for a, name in by_address.items() if name not in found)
        result = shell.run(head, ["ssh-keyscan", "-T", "5", "-t", "ed25519", *todo], check=False)
        for line in result.stdout.splitlines():
            words = line.split()
            if len(words) == 3 and words[0] in by_address and words[1] == "ssh-ed25519":
                found[by_address[words[0]]] = f"{words[1]} {words[2]}"
        if len(found) == len(machines):
            return found
        if time.monotonic() > deadline:
            silent = sorted(name for name in by_address.values() if name not in found)
            raise ProviderError(f"{len(silent)} nodes gave the head no SSH host key within "
                                f"{timeout:.0f}s: {', '.join(silent[:5])}")
        time.sleep(POLL_SECONDS)


def learn_host_keys(fleet: Fleet, keys: ClusterKeys, shell: ClusterShell, machines: list[Machine],
                    progress: Progress) -> None:
    """Pin every machine's host key not known yet, and rewrite the SSH files: the head's and
    those of nodes in another place from their consoles, the head's neighbours through it."""
    head = next(m for m in machines if m.role == "head")
    near = fleet.provider_of(head)

    def from_console(machine: Machine) -> None:
        key = read_console_key(fleet.provider_of(machine), machine)
        keys.pin_host_key(machine.name, f"{key} {machine.provider_id}")

    if not known_key(near, keys, head):
        progress.detail(f"reading {head.name}'s host key from its console")
        from_console(head)
        write_known_ssh(fleet, keys, machines)
    unknown = [m for m in machines if m.role != "head" and not known_key(fleet.provider_of(m), keys, m)]
    neighbours = [m for m in unknown if fleet.provider_of(m) is near]
    if neighbours:
        shell.wait_reachable(head.name)
        progress.detail(f"{head.name} reads the host keys of {len(neighbours)} nodes")
        found = scan_keys(shell, head.name, neighbours)
        for machine in neighbours:
            keys.pin_host_key(machine.name, f"{found[machine.name]} {machine.provider_id}")
    elsewhere = [m for m in unknown if fleet.provider_of(m) is not near]
    if elsewhere:
        progress.detail(f"reading the host keys of {len(elsewhere)} nodes from their consoles")
        in_parallel(from_console, elsewhere)
    if unknown:
        write_known_ssh(fleet, keys, machines)
