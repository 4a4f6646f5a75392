"""Storage tests build real local clusters: root, the Slurm packages and the storage packages."""

from __future__ import annotations

import shutil

import pytest

from ..conftest import have_local_cluster_support

STORAGE_TOOLS = ("losetup", "mkfs.ext4", "mkfs.xfs", "glusterd", "mount.glusterfs", "ganesha.nfsd",
                 "rpcbind", "nfs-cp")

reason = have_local_cluster_support()
missing = [t for t in STORAGE_TOOLS if not shutil.which(t, path="/usr/sbin:/usr/bin:/sbin:/bin")]
if reason or missing:
    pytest.skip(reason or f"missing storage tools: {missing}", allow_module_level=True)
