"""Which host paths a local node sees as they are, and which of the client's Python it is lent."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from elastichpc.providers.local.nodefs import _seen_in_node, python_paths


@pytest.mark.parametrize(("path", "seen"), [
    ("/usr/lib/python3", True), ("/opt/ehpc-pbs", True), ("/var/lib/x", True),
    ("/tmp/venv", False), ("/var/tmp/venv", False), ("/home/u/.venv", False),
    ("/root/.pyenv", False), ("/srv/ehpc", False), ("/work/src", False), ("/", False),
])
def test_what_a_node_sees_of_the_host(path: str, seen: bool) -> None:
    assert _seen_in_node(Path(path)) is seen


def test_the_clients_python_is_lent_but_never_a_private_path_around_it() -> None:
    prefix = Path(sys.base_prefix).resolve()
    lent = python_paths([])
    assert _seen_in_node(prefix) or any(prefix.is_relative_to(p) for p in lent)
    guarded = python_paths([prefix / "lib"])  # a private path inside the prefix
    assert all(not (prefix / "lib").is_relative_to(p) for p in guarded)
    assert "/" not in lent and str(Path.home()) not in lent
