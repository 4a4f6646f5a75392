"""Render the storage steps (data disks, GlusterFS, NFS): bash that does not know the provider.

Each script is sent over SSH on standard input and prints machine-readable lines starting with
`ehpc-` (a mount's facts, a note for the user); a refusal is one `ehpc-error:` line on stderr.
"""

from __future__ import annotations

from dataclasses import dataclass

from .render import _b64, _script


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


@dataclass
class DiskMount:
    """What `ehpc_disk_mount` reported."""

    mount_point: str
    filesystem: str
    uuid: str
    size_bytes: int
    used_bytes: int
    avail_bytes: int

    @classmethod
    def parse(cls, output: str) -> DiskMount | None:
        for line in output.splitlines():
            words = line.split()
            if len(words) == 7 and words[0] == "ehpc-disk":
                return cls(words[1], words[2], words[3], *(int(w) for w in words[4:]))
        return None


def disk_mount_script(
    disk_id: str, devices: list[str], mount_point: str, *, format_disk: bool, filesystem: str,
    force: bool,
) -> str:
    """`devices`: the paths the disk may appear under (the first to appear is used)."""
    return _script(
        f"disk step: mount {disk_id}",
        {
            "EHPC_DISK_ID": disk_id,
            "EHPC_DISK_DEVICES": " ".join(devices),
            "EHPC_DISK_MOUNT": mount_point,
            "EHPC_DISK_FORMAT": _yes(format_disk),
            "EHPC_DISK_FS": filesystem,
            "EHPC_DISK_FORCE": _yes(force),
        },
        ["disk.sh"],
        ["ehpc_disk_mount"],
    )


def disk_unmount_script(disk_id: str, device: str, *, force: bool) -> str:
    return _script(
        f"disk step: unmount {disk_id}",
        {"EHPC_DISK_ID": disk_id, "EHPC_DISK_DEVICE": device, "EHPC_DISK_FORCE": _yes(force)},
        ["disk.sh"],
        ["ehpc_disk_unmount"],
    )


@dataclass
class GlusterVolume:
    """A volume as the gluster step builds it: servers by private address, in brick order."""

    name: str
    servers: list[str]
    layout: list[str]  # e.g. ["replica", "2"]; empty for a distributed volume
    brick_dir: str
    mount_point: str
    hosts: str = ""  # "address name" lines: glusterd looks peers up by address, both ways

    @property
    def bricks(self) -> list[str]:
        return [f"{server}:{self.brick_dir}/{self.name}" for server in self.servers]

    def _variables(self) -> dict[str, str]:
        return {
            "EHPC_GLUSTER_VOLUME": self.name,
            "EHPC_GLUSTER_BRICK": f"{self.brick_dir}/{self.name}",
            "EHPC_GLUSTER_SERVER": self.servers[0],
            "EHPC_GLUSTER_PEERS": " ".join(self.servers[1:]),
            "EHPC_GLUSTER_BACKUPS": ":".join(self.servers[1:]),
            "EHPC_GLUSTER_LAYOUT": " ".join(self.layout),
            "EHPC_GLUSTER_BRICKS": " ".join(self.bricks),
            "EHPC_GLUSTER_MOUNT": self.mount_point,
            "EHPC_HOSTS": _b64(self.hosts),
        }

    def server_script(self) -> str:
        return _script("gluster step: server", self._variables(), ["disk.sh", "gluster.sh"],
                       ["ehpc_gluster_server"])

    def volume_script(self) -> str:
        return _script("gluster step: volume", self._variables(), ["disk.sh", "gluster.sh"],
                       ["ehpc_gluster_volume"])

    def client_script(self, shared_dir: str = "") -> str:
        """Mount on a node; with `shared_dir`, the cluster's work directory is the volume."""
        variables = {**self._variables(), "EHPC_GLUSTER_SHARED": shared_dir}
        return _script("gluster step: client", variables, ["disk.sh", "gluster.sh"],
                       ["ehpc_gluster_client"])


@dataclass
class NfsExport:
    server: str  # the head's private address
    export: str  # directory exported (the guide's DEVICE)
    mount_point: str  # where clients mount it (MOUNTING_POINT)
    fsid: int
    clients: list[str]  # private addresses allowed
    host_dir: str = ""  # the provider's fallback for a client that cannot mount NFS

    def _variables(self) -> dict[str, str]:
        return {
            "EHPC_NFS_SERVER": self.server,
            "EHPC_NFS_EXPORT": self.export,
            "EHPC_NFS_MOUNT": self.mount_point,
            "EHPC_NFS_FSID": str(self.fsid),
            "EHPC_NFS_CLIENTS": " ".join(self.clients),
            "EHPC_NFS_HOSTDIR": self.host_dir,
        }

    def server_script(self) -> str:
        return _script("nfs step: server", self._variables(), ["disk.sh", "nfs.sh"],
                       ["ehpc_nfs_server"])

    def client_script(self) -> str:
        return _script("nfs step: client", self._variables(), ["disk.sh", "nfs.sh"],
                       ["ehpc_nfs_client"])
