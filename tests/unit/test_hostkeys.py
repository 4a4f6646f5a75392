"""Host keys of cloud nodes: found in console text, pinned to one instance, written for ssh."""

from __future__ import annotations

from pathlib import Path

from elastichpc.config import load_spec
from elastichpc.orchestration.fleet import Fleet
from elastichpc.orchestration.hostkeys import console_key, known_key, write_known_ssh
from elastichpc.providers import Machine
from elastichpc.remote import ClusterKeys

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHsQ0S2Wb2u8h7Jx6r0T9m8B5tq1H2w0E3f3mVZ3lK7c"


def test_the_first_key_printed_counts_with_or_without_a_prefix() -> None:
    assert console_key("Linux version 6.1\nlogin: ") == ""
    assert console_key(f"x\r\nehpc-host-key {KEY}\r\n") == KEY
    text = f"May 1 host google_metadata_script_runner[5]: startup-script: ehpc-host-key {KEY}\n"
    assert console_key(text + "ehpc-host-key ssh-ed25519 AAAAinjectedlater\n") == KEY
    assert console_key(f"not-ehpc-host-key {KEY}\n") == ""
    assert console_key(f"ehpc-host-key {KEY} trailing words\n") == ""


def _machine(name: str, role: str, instance: str) -> Machine:
    return Machine(name, role, instance, "", f"10.0.0.{len(name)}", "running", "admin")


def test_a_pinned_key_belongs_to_one_instance(tmp_path: Path) -> None:
    fleet = Fleet(load_spec(overrides={("CLUSTER", "PROVIDER"): "aws", ("CLUSTER", "CLUSTER_PREFIX"): "c",
                                       ("CLUSTER", "CLUSTER SIZE"): "1"}))
    provider = fleet.head
    keys = ClusterKeys(tmp_path, "c")
    keys.login_key()
    head, node = _machine("c-head", "head", "i-1"), _machine("c-node1", "compute", "i-2")
    keys.pin_host_key("c-head", f"{KEY} i-1")
    keys.pin_host_key("c-node1", f"{KEY} i-0")  # the node was launched again since
    assert known_key(provider, keys, head) == KEY
    assert known_key(provider, keys, node) == ""
    write_known_ssh(fleet, keys, [head, node])
    assert (tmp_path / "known_hosts").read_text() == f"c-head {KEY}\n"
    assert "Host c-node1" in (tmp_path / "ssh_config").read_text()
