"""Local disk and snapshot listings while another command deletes what they list: a disk whose
image went between the directory listing and its reading is left out, not a traceback."""

from __future__ import annotations

from pathlib import Path

from elastichpc.config import Settings
from elastichpc.providers import get_provider


def test_listings_skip_what_vanished_meanwhile(tmp_path: Path) -> None:
    settings = Settings()
    settings.put("LOCAL", "ROOT_DIR", str(tmp_path), "test")
    provider = get_provider("local", settings)
    for kind in ("disks", "snapshots"):
        (tmp_path / kind).mkdir()
        (tmp_path / kind / "kept.img").write_bytes(b"\0" * 1024)
        # An image listed and gone before it is read, as a concurrent delete leaves it.
        (tmp_path / kind / "gone.img").symlink_to(tmp_path / "deleted-meanwhile.img")
    assert [d.name for d in provider.disks()] == ["kept"]
    assert [s.name for s in provider.snapshots()] == ["kept"]
