"""The lab's machine image and package mirror, built once and cached outside the checkout.

The image is a pristine Debian 12 root made with debootstrap: what a Debian cloud image holds
(sshd, sudo, curl, python3, systemd's tools) and nothing of ours. The mirror holds the real
Debian packages our boot and configure scripts install (every `ehpc_packages` in the bootstrap
scripts and every scheduler's commands) with their dependencies, fetched once from Debian,
indexed with apt-ftparchive and signed with a key of the lab's own that the image trusts. Both
live under EHPC_LAB_CACHE (default /var/cache/ehpc-lab), keyed by what went into them, so a
change of the package lists rebuilds them and nothing else does.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shlex
import shutil
import subprocess
import time
from pathlib import Path

SUITE = "bookworm"
UPSTREAM = "http://deb.debian.org/debian"
# A Debian cloud image beyond debootstrap's minbase (no cloud-init: the lab plays its part).
IMAGE_PACKAGES = ["openssh-server", "sudo", "ca-certificates", "curl", "iproute2", "procps",
                  "python3", "gnupg", "less", "netbase", "systemd", "udev", "kmod"]
ARCHIVE_KEY_NAME = "ElasticHPC cloud lab archive"
BOOTSTRAP = Path(__file__).resolve().parents[2] / "src" / "elastichpc" / "bootstrap"
BUILD_VERSION = "1"  # bump when the build steps below change
# What the lab's tests install with `ehpc cluster install` (the example pipeline's software)
TEST_PACKAGES = ["bwa", "samtools", "python3-venv"]


def cache_dir() -> Path:
    return Path(os.environ.get("EHPC_LAB_CACHE", "/var/cache/ehpc-lab"))


def mirror_packages() -> list[str]:
    """Every package a bootstrap script may install: the arguments of `ehpc_packages CMD:PKG`
    in scripts/*.sh and the schedulers' COMMANDS tables (their values); and TEST_PACKAGES."""
    found: set[str] = set(TEST_PACKAGES)
    for script in sorted((BOOTSTRAP / "scripts").glob("*.sh")):
        for args in re.findall(r"^[^#\n]*\behpc_packages +([^(\n].*)", script.read_text(), re.M):
            for arg in shlex.split(args):
                if ":" in arg and "$" not in arg:
                    found.update(arg.split(":", 1)[1].split())
    for module in sorted(BOOTSTRAP.glob("*.py")):
        for table in re.findall(r"^COMMANDS = \{(.*?)\}", module.read_text(), re.M | re.S):
            found.update(re.findall(r':\s*"([a-z0-9][a-z0-9.+-]+)"', table))
    return sorted(found)


def _key(*parts: str) -> str:
    return hashlib.sha256("\n".join([BUILD_VERSION, SUITE, UPSTREAM, *parts]).encode()).hexdigest()[:12]


class Artifacts:
    """A built image (root/) and mirror (the archive root, served as /debian/)."""

    def __init__(self, cache: Path) -> None:
        image_key = _key(*IMAGE_PACKAGES)
        self.image = cache / f"image-{image_key}"
        self.root = self.image / "root"
        self.mirror_dir = cache / f"mirror-{_key(image_key, *mirror_packages())}"
        self.mirror = self.mirror_dir / "debian"

    def ready(self) -> bool:
        return (self.image / "done").exists() and (self.mirror_dir / "done").exists()


def artifacts() -> Artifacts:
    return Artifacts(cache_dir())


def ensure_built(log: bool = True) -> Artifacts:
    """The image and mirror for the current package lists, building what is missing (this
    needs the Debian mirror: debootstrap ~1.5 min, the mirror's downloads ~30 s). A change of
    the bootstrap scripts' packages rebuilds the mirror only. Safe against concurrent callers."""
    built = artifacts()
    if built.ready():
        (built.image / "done").touch()
        (built.mirror_dir / "done").touch()
        return built
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for tool in ("debootstrap", "apt-ftparchive", "gpg"):
            if not shutil.which(tool):
                raise RuntimeError(f"the lab image build needs {tool} (scripts/install-system-packages.sh)")
        for path, build in ((built.image, _build_image), (built.mirror_dir, _build_mirror)):
            if not (path / "done").exists():
                if path.exists():
                    _remove_tree(path)
                path.mkdir()
                build(built, log)
                (path / "done").touch()
                _prune(cache, path.name.split("-")[0])
    return built


STALE_DAYS = 7


def _prune(cache: Path, kind: str) -> None:
    """Remove builds of other package lists unused for a week. Not sooner: several checkouts
    (branches, worktrees) share the cache, each with its own lists, and a lab may be serving
    one of them right now."""
    for old in cache.glob(f"{kind}-*"):
        used = old / "done"  # touched at every use
        if used.exists() and time.time() - used.stat().st_mtime > STALE_DAYS * 86400:
            _remove_tree(old)


def _run(argv: list[str], log: bool, **kwargs: object) -> None:
    if log:
        print("lab image:", " ".join(argv[:6]), "..." if len(argv) > 6 else "", flush=True)
    subprocess.run(argv, check=True, stdout=None if log else subprocess.DEVNULL, **kwargs)  # type: ignore[call-overload]


ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive", "LC_ALL": "C"}


def _build_image(built: Artifacts, log: bool) -> None:
    """debootstrap, then what a cloud image is at first boot: the (lab) mirror trusted, no host
    keys, no machine id, no apt lists."""
    root = built.root
    _run(["debootstrap", "--variant=minbase", f"--include={','.join(IMAGE_PACKAGES)}",
          SUITE, str(root), UPSTREAM], log)
    (root / "etc/apt/trusted.gpg.d/ehpc-lab-archive.asc").write_text(archive_key())
    (root / "etc/apt/sources.list").write_text(f"deb {UPSTREAM} {SUITE} main\n")
    _run(["chroot", str(root), "/bin/sh", "-euc",
          "rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /etc/ssh/ssh_host_* "
          "/etc/apt/sources.list.d/*; apt-get clean; : > /etc/machine-id; "
          "rm -f /etc/hostname /etc/resolv.conf"], log, env=ENV)


# Inside a throw-away overlay on the image (own mount namespace): apt of this very image, on
# Debian's real mirror, downloads each package with what it needs beyond the image. One at a
# time: some conflict with each other (slurm-wlm-torque and gridengine-client).
DOWNLOAD = r"""
set -eu
image=$1 work=$2 packages=$3
mkdir -p "$work/upper" "$work/work" "$work/root"
mount -t overlay overlay -o "lowerdir=$image,upperdir=$work/upper,workdir=$work/work" "$work/root"
cp /etc/resolv.conf "$work/root/etc/resolv.conf"
mkdir -p "$work/root/var/tmp/pool/partial" "$work/root/var/tmp/lists/partial"
apt="apt-get -q -o Dir::State::Lists=/var/tmp/lists -o Dir::Cache::archives=/var/tmp/pool"
chroot "$work/root" /bin/sh -euc "
  rm -f /etc/apt/trusted.gpg.d/ehpc-lab-archive.asc
  echo 'deb $UPSTREAM $SUITE main' > /etc/apt/sources.list
  $apt update
  for p in $packages; do $apt install -y --download-only --no-install-recommends \$p; done"
"""


def _build_mirror(built: Artifacts, log: bool) -> None:
    work = built.mirror_dir / "work"
    _run(["unshare", "--mount", "--propagation", "private", "sh", "-c", DOWNLOAD, "download",
          str(built.root), str(work), " ".join(mirror_packages())], log,
         env={**ENV, "UPSTREAM": UPSTREAM, "SUITE": SUITE})
    target = built.mirror / "pool/main"
    target.mkdir(parents=True)
    for deb in (work / "upper/var/tmp/pool").glob("*.deb"):
        shutil.move(str(deb), target / deb.name)
    _remove_tree(work)
    _index(built.mirror, log)


def _gpg(*args: str) -> list[str]:
    home = cache_dir() / "archive-key"
    home.mkdir(mode=0o700, exist_ok=True)
    return ["gpg", "--batch", "--quiet", "--homedir", str(home), *args]


def archive_key() -> str:
    """The lab archive's public key (armored), made on first use."""
    found = subprocess.run(_gpg("--export", "--armor", ARCHIVE_KEY_NAME), capture_output=True,
                           text=True, check=True).stdout
    if found.strip():
        return found
    subprocess.run(_gpg("--passphrase", "", "--quick-gen-key", ARCHIVE_KEY_NAME, "ed25519",
                        "sign", "never"), check=True, capture_output=True)
    return archive_key()


def _index(mirror: Path, log: bool) -> None:
    dists = mirror / "dists" / SUITE
    binary = dists / "main/binary-amd64"
    binary.mkdir(parents=True)
    packages = subprocess.run(["apt-ftparchive", "packages", "pool"], cwd=mirror, check=True,
                              capture_output=True).stdout
    (binary / "Packages").write_bytes(packages)
    _run(["gzip", "-k9", str(binary / "Packages")], log)
    fields = {"Origin": "Debian", "Label": "Debian", "Suite": SUITE, "Codename": SUITE,
              "Components": "main", "Architectures": "amd64"}
    options = [f"-oAPT::FTPArchive::Release::{k}={v}" for k, v in fields.items()]
    release = subprocess.run(["apt-ftparchive", *options, "release", str(dists)], check=True,
                             capture_output=True).stdout
    (dists / "Release").write_bytes(release)
    archive_key()
    subprocess.run(_gpg("--yes", "--local-user", ARCHIVE_KEY_NAME, "--clearsign", "--output",
                        str(dists / "InRelease"), str(dists / "Release")), check=True)


def _remove_tree(path: Path) -> None:
    subprocess.run(["rm", "-rf", "--one-file-system", str(path)], check=True)


if __name__ == "__main__":
    print(ensure_built().mirror)
