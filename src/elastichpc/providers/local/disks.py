"""Disks of the local provider: sparse image files, reflink snapshots, loop devices.

A disk is `<ROOT_DIR>/disks/<name>.img` plus a small JSON record beside it holding its tag
(`cluster`) and, while attached, the node and loop device. The record is a cache: which loop
device really backs an image is asked of the kernel (`losetup -j`). Attaching makes the loop
device only; mounting it happens inside the one node's mount namespace (over SSH, by the
bootstrap disk step), so no other node and not the host see the mount.
"""

from __future__ import annotations

import json
import os
from contextlib import AbstractContextManager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from ...config import check_name
from ...errors import ConfigError, EhpcError, ProviderError
from ..base import Disk, Machine, Snapshot
from .commands import run
from .files import exclusive, read_json, share_dir

GIB = 1024**3


class LocalDisks:
    """Mixed into LocalProvider: the Provider disk methods, and the shared-directory fallback."""

    name: ClassVar[str]
    if TYPE_CHECKING:  # provided by LocalProvider

        @property
        def root(self) -> Path: ...

    # ---- files ----------------------------------------------------------------------------
    @property
    def disk_dir(self) -> Path:
        return self.root / "disks"

    @property
    def snapshot_dir(self) -> Path:
        return self.root / "snapshots"

    def _disk_lock(self) -> AbstractContextManager[None]:
        return exclusive(self.disk_dir / ".lock")

    def _record(self, directory: Path, name: str) -> dict:
        return read_json(directory / f"{name}.json")

    def _save(self, directory: Path, record: dict) -> None:
        path = directory / f"{record['name']}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record))
        tmp.replace(path)

    def _disk_record(self, disk_id: str) -> dict:
        record = self._record(self.disk_dir, disk_id)
        if not record or not (self.disk_dir / f"{disk_id}.img").exists():
            known = ", ".join(sorted(p.stem for p in self.disk_dir.glob("*.img"))) or "none"
            raise EhpcError(f"no local disk named {disk_id!r} (disks: {known})")
        return record

    def _loops(self, image: Path) -> list[str]:
        """Loop devices the kernel has on this image file."""
        out = run(["losetup", "-n", "-O", "NAME", "-j", str(image)], check=False)
        return out.split()

    def _as_disk(self, record: dict) -> Disk:
        image = self.disk_dir / f"{record['name']}.img"
        loops = self._loops(image)
        attached = bool(loops and record.get("attached_to"))
        return Disk(
            disk_id=record["name"],
            name=record["name"],
            size_gb=max(1, image.stat().st_size // GIB),
            zone="local",
            state="in-use" if loops else "available",
            attached_to=record.get("attached_to", "") if attached else "",
            device=loops[0] if loops else "",
            cluster=record.get("cluster", ""),
            extra={
                "image": str(image),
                "allocated_mb": image.stat().st_blocks * 512 // 2**20,
                "snapshot": record.get("snapshot", ""),
                "attached_cluster": record.get("attached_cluster", "") if attached else "",
            },
        )

    # ---- Provider methods ---------------------------------------------------------------
    def create_disk(
        self,
        name: str,
        size_gb: int | None,
        *,
        cluster: str = "",
        zone: str = "",
        disk_type: str = "",
        snapshot: str = "",
        source_url: str = "",
    ) -> Disk:
        check_name(name, "disk name")
        if source_url:
            raise EhpcError("the local provider makes disks from snapshots, not from URLs")
        image = self.disk_dir / f"{name}.img"
        with self._disk_lock():
            if image.exists():
                raise EhpcError(f"a local disk named {name!r} already exists")
            if snapshot:
                source = self.snapshot_dir / f"{snapshot}.img"
                if not source.exists():
                    raise EhpcError(f"no local snapshot named {snapshot!r}")
                # reflink: instant and shares blocks where the file system can (btrfs, xfs).
                run(["cp", "--reflink=auto", "--sparse=always", str(source), str(image)])
                if size_gb and size_gb * GIB > image.stat().st_size:
                    os.truncate(image, size_gb * GIB)
            elif size_gb:
                self._check_room(size_gb)
                try:
                    with open(image, "wb") as handle:  # sparse: no block is written
                        handle.truncate(size_gb * GIB)
                except OSError as err:  # never leave a 0-byte image that no command knows
                    image.unlink(missing_ok=True)
                    raise ProviderError(f"cannot make disk {name} of {size_gb} GiB in "
                                        f"{self.disk_dir}: {err.strerror}") from None
            else:
                raise EhpcError("a new disk needs a size (--size 10G) or a snapshot (--snapshot)")
            self._save(self.disk_dir, {"name": name, "cluster": cluster, "snapshot": snapshot,
                                       "type": disk_type})
        return self._as_disk(self._disk_record(name))

    def _check_room(self, size_gb: int) -> None:
        """A sparse image may outgrow the free space, not the file system that holds it."""
        stat = os.statvfs(self.disk_dir)
        total_gb = stat.f_blocks * stat.f_frsize // GIB
        if size_gb > total_gb:
            raise ConfigError(f"disk size {size_gb} GiB is larger than the file system that "
                              f"holds local disks ({self.disk_dir}: {total_gb} GiB)")

    def snapshot_disk(self, disk_id: str, name: str) -> Snapshot:
        check_name(name, "snapshot name")
        record = self._disk_record(disk_id)
        self.snapshot_dir.mkdir(parents=True, exist_ok=True)
        target = self.snapshot_dir / f"{name}.img"
        if target.exists():
            raise EhpcError(f"a local snapshot named {name!r} already exists")
        for loop in self._loops(self.disk_dir / f"{disk_id}.img"):
            run(["blockdev", "--flushbufs", loop], check=False)  # what the node wrote
        run(["cp", "--reflink=auto", "--sparse=always", str(self.disk_dir / f"{disk_id}.img"),
             str(target)])
        self._save(self.snapshot_dir, {"name": name, "disk": disk_id,
                                       "cluster": record.get("cluster", "")})
        return self._as_snapshot(self._record(self.snapshot_dir, name))

    def _as_snapshot(self, record: dict) -> Snapshot:
        image = self.snapshot_dir / f"{record['name']}.img"
        return Snapshot(record["name"], record["name"], record.get("disk", ""),
                        max(1, image.stat().st_size // GIB))

    def attach_disk(self, disk_id: str, machine: Machine, device: str = "") -> Disk:
        image = self.disk_dir / f"{disk_id}.img"
        with self._disk_lock():
            record = self._disk_record(disk_id)
            if self._loops(image):
                raise EhpcError(
                    f"disk {disk_id} is already attached to {record.get('attached_to') or '?'}"
                )
            run(["losetup", "--find", "--show", str(image)])
            cluster = machine.provider_id.split(".")[1]  # ehpc.<cluster>.<node>
            record.update(attached_to=machine.name, attached_cluster=cluster,
                          mount_ns=str(self.root / cluster / "ns" / f"{machine.name}.mnt"))
            self._save(self.disk_dir, record)
        return self._as_disk(record)

    def detach_disk(self, disk_id: str) -> Disk:
        image = self.disk_dir / f"{disk_id}.img"
        with self._disk_lock():
            record = self._disk_record(disk_id)
            loops = self._loops(image)
            if not loops:
                raise EhpcError(f"disk {disk_id} is not attached")
            for loop in loops:
                self._unmount_in_node(record.get("mount_ns", ""), loop)
                run(["losetup", "-d", loop])
            for key in ("attached_to", "attached_cluster", "mount_ns"):
                record.pop(key, None)
            self._save(self.disk_dir, record)
        return self._as_disk(record)

    def _unmount_in_node(self, mount_ns: str, loop: str) -> None:
        """Like a cloud's forced detach: whatever still mounts the device in its node goes."""
        if not mount_ns or not Path(mount_ns).exists():
            return
        enter = ["nsenter", f"--mount={mount_ns}", "--"]
        targets = run([*enter, "findmnt", "-rn", "-S", loop, "-o", "TARGET"], check=False)
        for target in reversed(targets.split()):
            run([*enter, "umount", "-l", target], check=False)

    def disks(self, cluster: str = "") -> list[Disk]:
        found = []
        for image in sorted(self.disk_dir.glob("*.img")):
            record = self._record(self.disk_dir, image.stem) or {"name": image.stem}
            if not cluster or cluster in (record.get("cluster"), record.get("attached_cluster")):
                with suppress(FileNotFoundError):  # deleted meanwhile by another command
                    found.append(self._as_disk(record))
        return found

    def delete_disk(self, disk_id: str, force: bool = False) -> None:
        if force and self._loops(self.disk_dir / f"{disk_id}.img"):
            self.detach_disk(disk_id)
        with self._disk_lock():
            self._disk_record(disk_id)
            if self._loops(self.disk_dir / f"{disk_id}.img"):
                raise EhpcError(f"disk {disk_id} is attached: detach it first")
            (self.disk_dir / f"{disk_id}.img").unlink()
            (self.disk_dir / f"{disk_id}.json").unlink(missing_ok=True)

    def snapshots(self, cluster: str = "") -> list[Snapshot]:
        found = []
        for image in sorted(self.snapshot_dir.glob("*.img")):
            record = self._record(self.snapshot_dir, image.stem) or {"name": image.stem}
            if not cluster or record.get("cluster") == cluster:
                with suppress(FileNotFoundError):  # deleted meanwhile by another command
                    found.append(self._as_snapshot(record))
        return found

    def delete_snapshot(self, snapshot_id: str) -> None:
        image = self.snapshot_dir / f"{snapshot_id}.img"
        if not image.exists():
            raise EhpcError(f"no local snapshot named {snapshot_id!r}")
        image.unlink()
        (self.snapshot_dir / f"{snapshot_id}.json").unlink(missing_ok=True)

    def fallback_share_dir(self, cluster: str, key: str) -> str:
        """Every node sees the host's file system: a host directory is the same one for all."""
        return share_dir(self.root, cluster, key)

    # ---- terminate ------------------------------------------------------------------------
    def release_cluster_disks(self, cluster: str) -> list[str]:
        """After the cluster's nodes are gone: detach every disk attached to them, delete the
        disks and snapshots tagged with the cluster. Untagged disks are the user's: kept."""
        removed = []
        for disk in self.disks(cluster):
            if disk.extra["attached_cluster"] == cluster:
                try:
                    self.detach_disk(disk.disk_id)
                except EhpcError as err:
                    raise ProviderError(f"could not detach disk {disk.disk_id}: {err}") from None
                removed.append(f"loop device {disk.device}")
            if disk.cluster == cluster:
                self.delete_disk(disk.disk_id)
                removed.append(f"disk {disk.disk_id}")
        for snapshot in self.snapshots(cluster):
            self.delete_snapshot(snapshot.snapshot_id)
            removed.append(f"snapshot {snapshot.snapshot_id}")
        return removed
