"""Reaching cluster nodes: per-cluster keys and OpenSSH with pinned host keys."""

from .keys import ClusterKeys, ed25519_keypair
from .ssh import ClusterShell, SshHost, close_connections, in_parallel, write_ssh_files

__all__ = ["ClusterKeys", "ClusterShell", "SshHost", "close_connections", "ed25519_keypair",
           "in_parallel", "write_ssh_files"]
