"""Per-cluster secrets on the client: the login key, node host keys, the munge key, the
overlay's WireGuard keys (one pair per node, one preshared key per cluster).

They live in the cluster's directory under the state directory (mode 0700, files 0600). Host
keys are pinned before the CLI connects: made here for local nodes (their boot script reaches no
metadata service), and learned for cloud nodes, which make their own (orchestration/hostkeys.py):
`hostkeys/<node>.pub` then holds only the public half.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path


def ed25519_keypair() -> tuple[str, str]:
    """(private key in OpenSSH format, public key line)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    ).decode()
    return private, public


def wireguard_keypair() -> tuple[str, str]:
    """(private, public) X25519 keys, base64 as WireGuard writes them."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    key = X25519PrivateKey.generate()
    raw = serialization.Encoding.Raw
    private = key.private_bytes(raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    public = key.public_key().public_bytes(raw, serialization.PublicFormat.Raw)
    return base64.b64encode(private).decode(), base64.b64encode(public).decode()


def _write_secret(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


class ClusterKeys:
    def __init__(self, directory: Path, cluster: str) -> None:
        self.directory = directory
        self.cluster = cluster
        self.identity = directory / "id_ed25519"
        (directory / "hostkeys").mkdir(mode=0o700, exist_ok=True)

    def _pair(self, private_path: Path) -> tuple[str, str]:
        public_path = private_path.with_name(private_path.name + ".pub")
        if not private_path.exists() or not public_path.exists():
            private, public = ed25519_keypair()
            _write_secret(private_path, private.encode())
            public_path.write_text(f"{public} ehpc-{self.cluster}\n")
        return private_path.read_text(), public_path.read_text().strip()

    def login_key(self) -> tuple[str, str]:
        return self._pair(self.identity)

    def host_key(self, node: str) -> tuple[str, str]:
        """A key pair made here for `node` (providers that hand host keys to their nodes)."""
        return self._pair(self.directory / "hostkeys" / node)

    def overlay_key(self, node: str) -> tuple[str, str]:
        """A node's WireGuard (private, public) key pair, made here (a new one where the node's
        last key was its own)."""
        directory = self.directory / "overlay"
        directory.mkdir(mode=0o700, exist_ok=True)
        private_path, public_path = directory / node, directory / f"{node}.pub"
        if not private_path.exists() or not public_path.exists():
            private, public = wireguard_keypair()
            _write_secret(private_path, private.encode())
            public_path.write_text(public + "\n")
        return private_path.read_text(), public_path.read_text().strip()

    def learn_overlay_key(self, node: str, public: str, shared: bool = False) -> None:
        """The public half of a key the node made itself (a cloud node joining later): its
        private half never leaves the node, so none is kept here. `shared`: the node has been
        given the cluster's preshared key since (over its tunnel; see `share_psk`)."""
        directory = self.directory / "overlay"
        directory.mkdir(mode=0o700, exist_ok=True)
        (directory / node).unlink(missing_ok=True)
        (directory / f"{node}.pub").write_text(public.strip() + "\n")
        if shared:
            (directory / f"{node}.psk").touch()
        else:  # a new key is a new machine, which has no preshared key yet
            (directory / f"{node}.psk").unlink(missing_ok=True)

    def share_psk(self, node: str) -> None:
        """The node that made its own key now holds the preshared key too."""
        (self.directory / "overlay" / f"{node}.psk").touch()

    def psk_shared(self, node: str) -> bool:
        return (self.directory / "overlay" / f"{node}.psk").exists()

    def own_overlay_key(self, node: str) -> str:
        """The public key the node made itself ("" when it has a pair made here, or none)."""
        directory = self.directory / "overlay"
        public_path = directory / f"{node}.pub"
        if (directory / node).exists() or not public_path.exists():
            return ""
        return public_path.read_text().strip()

    def overlay_public(self, node: str) -> tuple[str, bool]:
        """(the node's WireGuard public key, whether its tunnel lacks the preshared key: the
        node made that key itself and has not been given the preshared key since)."""
        own = self.own_overlay_key(node)
        return (own, not self.psk_shared(node)) if own else (self.overlay_key(node)[1], False)

    def overlay_psk(self) -> str:
        """The cluster's WireGuard preshared key: every tunnel of the cluster mixes it in."""
        path = self.directory / "overlay-psk"
        if not path.exists():
            _write_secret(path, base64.b64encode(os.urandom(32)))
        return path.read_text()

    def known_host_key(self, node: str) -> str:
        """The node's pinned public host key, "" while not known."""
        path = self.directory / "hostkeys" / f"{node}.pub"
        return path.read_text().strip() if path.exists() else ""

    def pin_host_key(self, node: str, public: str) -> None:
        (self.directory / "hostkeys" / f"{node}.pub").write_text(public.strip() + "\n")

    def forget_host_key(self, node: str) -> None:
        """Drop a learned pin (the node's instance is gone; its successor has a key of its own)."""
        (self.directory / "hostkeys" / f"{node}.pub").unlink(missing_ok=True)

    def munge_key(self) -> bytes:
        path = self.directory / "munge.key"
        if not path.exists():
            _write_secret(path, os.urandom(1024))
        return path.read_bytes()
