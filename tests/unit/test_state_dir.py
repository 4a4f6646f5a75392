"""The state directory holds keys and the journal: private to its user even when it existed."""

from __future__ import annotations

import stat
from pathlib import Path

from elastichpc.state import Journal


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_state_dir_files_are_private_even_when_they_existed(tmp_path: Path) -> None:
    state = tmp_path / "state"
    (state / "clusters").mkdir(parents=True, mode=0o755)
    state.chmod(0o755)
    (state / "clusters").chmod(0o755)
    journal = Journal(state)
    journal.cluster_dir("x")
    assert (mode(state), mode(state / "state.db"), mode(state / "clusters")) == (0o700, 0o600, 0o700)
    assert mode(state / "clusters" / "x") == 0o700
