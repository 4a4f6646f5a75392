"""The keys of cluster.conf: the guide's sections and keys, plus [LOCAL] and a few new ones.

A key is matched whatever its spelling: `INSTANCE TYPE`, `INSTANCE_TYPE`, `instance-type` and
`instanceType` are the same key (see `normalize`). Each key has a type that turns the text into
a value, and a flag name so that every setting can also be given on the command line.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError

Converter = Callable[[str], Any]


def normalize(key: str) -> str:
    """One spelling for every key: upper case, no spaces, underscores or hyphens."""
    return re.sub(r"[\s_\-]+", "", key).upper()


def to_int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"expected a whole number, got {text!r}") from None


def to_positive_int(text: str) -> int:
    number = to_int(text)
    if number < 1:
        raise ValueError(f"expected a whole number above 0, got {text!r}")
    return number


def to_float(text: str) -> float:
    try:
        number = float(text)
    except ValueError:
        raise ValueError(f"expected a number, got {text!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"expected a finite number, got {text!r}")
    return number


def to_positive_float(text: str) -> float:
    number = to_float(text)
    if number <= 0:
        raise ValueError(f"expected a number above 0, got {text!r}")
    return number


_TRUE = {"1", "true", "yes", "y", "on"}
_FALSE = {"0", "false", "no", "n", "off"}


def to_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"expected true or false, got {text!r}")


def to_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def to_int_list(text: str) -> list[int]:
    return [to_int(item) for item in to_list(text)]


# A Debian package name (Debian Policy 5.6.1): lower-case letters, digits and + - . , at least
# two characters, starting with a letter or digit; an optional architecture (`:amd64`).
PACKAGE = re.compile(r"^[a-z0-9][a-z0-9+.-]+(:[a-z0-9-]+)?$")


def to_packages(text: str) -> list[str]:
    """Debian package names, separated by spaces and/or commas."""
    names = [n for n in re.split(r"[\s,]+", text) if n]
    bad = [n for n in names if not PACKAGE.match(n)]
    if bad:
        raise ValueError(f"{', '.join(bad)}: not a Debian package name (lower-case letters, "
                         "digits, + - .)")
    return list(dict.fromkeys(names))


_SIZE = re.compile(r"^(\d+)\s*([KMGT]?)i?B?$", re.IGNORECASE)
_SIZE_GB = {"": 1.0, "K": 1 / 1024**2, "M": 1 / 1024, "G": 1.0, "T": 1024.0}


def to_size_gb(text: str) -> int:
    """A disk size in GiB: `10`, `10G`, `10GiB`, `1T` (a bare number is GiB, as in the guide)."""
    match = _SIZE.match(text.strip())
    if not match:
        raise ValueError(f"expected a size such as 10 or 10G, got {text!r}")
    gb = int(match.group(1)) * _SIZE_GB[match.group(2).upper()]
    if gb < 1:
        raise ValueError(f"a disk is at least 1 GiB, got {text!r}")
    return int(gb)


_PATH = re.compile(r"^(/[A-Za-z0-9._+-]+)+/?$")
# Mounting over these (or exporting them) would break or expose the node's own system.
_SYSTEM_TREES = ("/etc", "/proc", "/sys", "/dev", "/usr", "/bin", "/sbin", "/lib", "/lib32",
                 "/lib64", "/libx32", "/boot", "/run", "/root")
_SYSTEM_DIRS = ("/", "/var")


def _clean_path(path: str) -> bool:
    return bool(_PATH.match(path)) and not {".", ".."} & set(path.split("/"))


def check_path(path: str, what: str) -> str:
    """An absolute path without `.`/`..` parts or shell characters; no trailing slash."""
    if not _clean_path(path):
        raise ConfigError(f"{what} {path!r} must be an absolute path of letters, digits, . _ + - "
                          "(no . or .. parts)")
    return path.rstrip("/") or "/"


def to_mount_point(text: str) -> str:
    """A directory to mount a file system at (or export): absolute, not a system directory."""
    if not _clean_path(text.strip()):
        raise ValueError(f"{text!r} is not an absolute path of letters, digits, . _ + - "
                         "(no . or .. parts)")
    path = text.strip().rstrip("/") or "/"
    if path in _SYSTEM_DIRS or any(path == t or path.startswith(t + "/") for t in _SYSTEM_TREES):
        raise ValueError(f"{path} is a system directory: mounting over it would break the node")
    return path


def to_absolute_dir(text: str) -> str:
    """A directory on this machine, made absolute here: later commands run from elsewhere."""
    path = os.path.abspath(os.path.expanduser(text.strip()))
    if not _clean_path(path):
        raise ValueError(f"{text!r} is not a path of letters, digits, . _ + -")
    if path in (*_SYSTEM_DIRS, *_SYSTEM_TREES):  # under /root or /run is a user's choice
        raise ValueError(f"{path} is a system directory")
    return path


def choice(*allowed: str) -> Converter:
    def convert(text: str) -> str:
        value = text.strip().lower()
        if value not in allowed:
            raise ValueError(f"expected one of {', '.join(allowed)}, got {text!r}")
        return value

    return convert


def to_str(text: str) -> str:
    return text


@dataclass(frozen=True)
class KeyDef:
    section: str
    name: str  # the spelling shown in messages and docs (the guide's where it has one)
    convert: Converter = to_str
    secret: bool = False  # never written to state, logs or --json
    default: Any = None
    help: str = ""
    repeatable: bool = False  # a list whose flag may be given several times

    @property
    def key(self) -> str:
        return normalize(self.name)

    @property
    def flag(self) -> str:
        """`--aws-instance-type`; [CLUSTER] keys go without the section: `--cluster-size`."""
        words = re.sub(r"([a-z])([A-Z])", r"\1 \2", self.name).replace("_", " ").lower().split()
        prefix = [] if self.section == "CLUSTER" else [self.section.lower()]
        return "--" + "-".join([*prefix, *words])


PROVIDERS = ("local", "aws", "gce", "azure")
SCHEDULERS = ("slurm", "sge", "pbs")
BUDGET_ACTIONS = ("stop-jobs", "scale-to-zero", "terminate")

_KEYS = [
    # [CLUSTER]: the guide's two keys and the ones every provider shares.
    KeyDef("CLUSTER", "CLUSTER_PREFIX", help="cluster name (host names and tags derive from it)"),
    KeyDef("CLUSTER", "CLUSTER SIZE", to_int, default=2, help="number of compute nodes"),
    KeyDef("CLUSTER", "PROVIDER", choice(*PROVIDERS), default="local"),
    KeyDef("CLUSTER", "SCHEDULER", choice(*SCHEDULERS), default="slurm"),
    KeyDef("CLUSTER", "SHARED_DIR", to_mount_point, default="/shared",
           help="work directory seen by every node"),
    KeyDef("CLUSTER", "CLUSTER_USER", default="ehpcuser", help="account that runs jobs"),
    KeyDef("CLUSTER", "SPOT", to_bool, default=False, help="compute nodes on spot capacity"),
    KeyDef("CLUSTER", "SPOT_PRICE", to_positive_float, help="maximum hourly price for spot nodes"),
    KeyDef("CLUSTER", "SPOT_INTERVAL", to_positive_float, default=60.0,
           help="seconds between two checks of open spot requests"),
    KeyDef("CLUSTER", "ACCOUNTING", to_bool, default=True,
           help="Slurm accounting (slurmdbd + MariaDB on the head, sacct); false: no sacct at all"),
    KeyDef("CLUSTER", "HEAD", help="where the head goes: PROVIDER[/SITE] (default: the first pool)"),
    KeyDef("CLUSTER", "POOL", to_list, default=[], repeatable=True,
           help="a pool of compute nodes: PROVIDER[/SITE]:COUNT[:spot[:PRICE]] (repeatable)"),
    KeyDef("CLUSTER", "CROSS", to_bool, default=False,
           help="compute nodes on several providers as [CROSS] gives them (the guide's --cross)"),
    KeyDef("CLUSTER", "OVERLAY", to_bool,
           help="an encrypted WireGuard overlay between the nodes (default: when the cluster "
           "spans more than one provider or site)"),
    KeyDef("CLUSTER", "MIN_NODES", to_int,
           help="an autoscaled pool keeps at least this many compute nodes (default: --size, or "
           "0 with --max-nodes alone)"),
    KeyDef("CLUSTER", "MAX_NODES", to_int,
           help="autoscale the compute nodes up to this many from the queue"),
    KeyDef("CLUSTER", "SCALEDOWN_IDLE", to_positive_int, default=120,
           help="seconds an autoscaled node stays idle before it is powered down"),
    KeyDef("CLUSTER", "AUTOSTOP", to_positive_float,
           help="minutes idle (no job, nobody logged in) after which the compute nodes are removed"),
    KeyDef("CLUSTER", "AUTOSTOP_DOWN", to_bool, default=False,
           help="with --autostop: terminate the whole cluster instead (--down)"),
    KeyDef("CLUSTER", "BUDGET", to_positive_float,
           help="US dollars the cluster may cost: the head agent warns at 80 percent, then acts"),
    KeyDef("CLUSTER", "BUDGET_ACTION", choice(*BUDGET_ACTIONS), default="stop-jobs",
           help="at the budget: stop-jobs (refuse new jobs, start no queued one), "
           "scale-to-zero (remove the compute nodes) or terminate (the whole cluster)"),
    KeyDef("CLUSTER", "FAILOVER", to_list, default=[],
           help="pools in the order a lost spot node is replaced in (default: the pools' order)"),
    KeyDef("CLUSTER", "GLUSTER", to_bool, default=False,
           help="shared directory on a GlusterFS volume of the compute nodes ([GLUSTERFS])"),
    KeyDef("CLUSTER", "NFS", to_bool, default=False,
           help="shared directory exported by the head over NFS ([NFS])"),
    # [IMAGE]
    KeyDef("IMAGE", "GCE_IMAGE_ID"),
    KeyDef("IMAGE", "AZURE_IMAGE_ID"),
    KeyDef("IMAGE", "AZURE_OS_URL"),
    KeyDef("IMAGE", "AWS_IMAGE_ID"),
    # [FIREWALL]: SSH is always open; these add ports.
    KeyDef("FIREWALL", "FW_NAME", to_list, default=[]),
    KeyDef("FIREWALL", "FW_PORT", to_int_list, default=[]),
    KeyDef("FIREWALL", "FW_PROTOCOL", to_list, default=[]),
    KeyDef("FIREWALL", "FW_SOURCE", help="CIDR allowed in (default: the caller's address range)"),
    # [DISK]
    KeyDef("DISK", "GCE_SNAPSHOT"),
    KeyDef("DISK", "GCE_SNAPSHOT_PROJECT"),
    KeyDef("DISK", "AZURE_DISK_URL"),
    KeyDef("DISK", "DISK_NAME"),
    KeyDef("DISK", "DISK_ZONE"),
    KeyDef("DISK", "DISK_INSTANCE"),
    KeyDef("DISK", "DISK_NUMBER", to_int, default=1),
    KeyDef("DISK", "DISK SIZE", to_size_gb),
    KeyDef("DISK", "DISK_TYPE"),
    KeyDef("DISK", "MOUNT_POINT", to_mount_point, help="where an attached disk is mounted"),
    KeyDef("DISK", "FILESYSTEM", choice("ext4", "xfs"), default="ext4"),
    KeyDef("DISK", "FORMAT_DISK", to_bool, default=True),
    # [GLUSTERFS]
    KeyDef("GLUSTERFS", "MOUNT_POINT", to_mount_point, default="/gluster/gv0"),
    KeyDef("GLUSTERFS", "VOLUME_NAME", default="gv0"),
    KeyDef("GLUSTERFS", "STRIPE", to_int, default=1),
    KeyDef("GLUSTERFS", "REPLICATE", to_int, default=1),
    KeyDef("GLUSTERFS", "FORMAT_DISK", to_bool, default=False,
           help="give each brick node a new data disk ([DISK] DISK SIZE), formatted XFS"),
    KeyDef("GLUSTERFS", "BRICK_DIR", to_mount_point, default="/var/spool/ehpc-bricks",
           help="where each server node keeps its brick (a data disk is mounted here)"),
    # [NFS]
    KeyDef("NFS", "MOUNTING_POINT", to_mount_point, default="/home"),
    KeyDef("NFS", "DEVICE", to_mount_point, default="/home"),
    KeyDef("NFS", "FSID", to_int, default=0),
    KeyDef("NFS", "AWS_VOLUME_SIZE", to_size_gb),
    KeyDef("NFS", "AWS_MOUNT_POINT", to_mount_point),
    KeyDef("NFS", "AWS_VOLUME_DEVICE"),
    KeyDef("NFS", "AWS_VOLUME_NAME"),
    # [CROSS]
    KeyDef("CROSS", "AWS", to_int, default=0),
    KeyDef("CROSS", "AZURE", to_int, default=0),
    KeyDef("CROSS", "GCE", to_int, default=0),
    KeyDef("CROSS", "LOCAL", to_int, default=0),
    KeyDef("CROSS", "MASTER", choice(*PROVIDERS)),
    # [AWS]
    KeyDef("AWS", "pkey", help="X.509 private key: retired by EC2, accepted and ignored"),
    KeyDef("AWS", "cert", help="X.509 certificate: retired by EC2, accepted and ignored"),
    KeyDef("AWS", "accessKey", secret=True),
    KeyDef("AWS", "secretKey", secret=True),
    KeyDef("AWS", "keyPair"),
    KeyDef("AWS", "securityGroup"),
    KeyDef("AWS", "INSTANCE TYPE", default="t3.medium"),
    KeyDef("AWS", "MASTER_TYPE", default="t3.medium"),
    KeyDef("AWS", "REGION", default="us-east-1"),
    KeyDef("AWS", "ZONE"),
    KeyDef("AWS", "SSH_USER", default="ubuntu"),
    # [GCE]
    KeyDef("GCE", "PROJECT_ID"),
    KeyDef("GCE", "ZONE", default="us-central1-a"),
    KeyDef("GCE", "CLIENT SECRET"),
    KeyDef("GCE", "COMPUTE SCOPE"),
    KeyDef("GCE", "OAUTH STORAGE"),
    KeyDef("GCE", "IMAGE PROJECT"),
    KeyDef("GCE", "SERVICE EMAIL", default="default"),
    KeyDef("GCE", "NETWORK", default="default"),
    KeyDef("GCE", "SCOPES", to_list, default=[]),
    KeyDef("GCE", "API VERSION", default="v1"),
    KeyDef("GCE", "CLUSTER CLIENT KEY"),
    KeyDef("GCE", "INSTANCE TYPE", default="e2-standard-2"),
    KeyDef("GCE", "MASTER TYPE", default="e2-standard-2"),
    KeyDef("GCE", "ROOT DISK"),
    KeyDef("GCE", "CREDENTIALS_FILE", help="service-account JSON key file"),
    KeyDef("GCE", "API_ENDPOINT", help="another Compute Engine endpoint (env EHPC_GCE_ENDPOINT)"),
    KeyDef("GCE", "SSH_USER", default="ehpc"),
    # [AZURE]
    KeyDef("AZURE", "SUBSCRIPTION ID"),
    KeyDef("AZURE", "THUMBPRINT", help="classic management certificate: retired, ignored"),
    KeyDef("AZURE", "STORAGE ACCOUNT"),
    KeyDef("AZURE", "STORAGE KEY", secret=True),
    KeyDef("AZURE", "CERTIFICATE PATH"),
    KeyDef("AZURE", "PKFILE"),
    KeyDef("AZURE", "CERT DATA PATH"),
    KeyDef("AZURE", "CERT PASSWORD", secret=True),
    KeyDef("AZURE", "REGION", default="westus"),
    KeyDef("AZURE", "INSTANCE TYPE", default="Standard_D2s_v5"),
    KeyDef("AZURE", "MASTER TYPE", default="Standard_D2s_v5"),
    KeyDef("AZURE", "CONTAINER"),
    KeyDef("AZURE", "TENANT ID"),
    KeyDef("AZURE", "CLIENT ID"),
    KeyDef("AZURE", "RESOURCE GROUP"),
    KeyDef("AZURE", "ARM_ENDPOINT", help="another Resource Manager endpoint (env EHPC_AZURE_ENDPOINT)"),
    KeyDef("AZURE", "CA_BUNDLE", help="CA bundle for that endpoint (env EHPC_AZURE_CA_BUNDLE)"),
    KeyDef("AZURE", "AUTHORITY_HOST", help="another Entra ID sign-in host (env EHPC_AZURE_AUTHORITY)"),
    KeyDef("AZURE", "BLOB_ENDPOINT", help="blob endpoint of STORAGE ACCOUNT (env EHPC_AZURE_BLOB_ENDPOINT)"),
    KeyDef("AZURE", "SSH_USER", default="azureuser"),
    # [SOFTWARE]: Debian packages on every node, present and future (`ehpc cluster install`).
    KeyDef("SOFTWARE", "PACKAGES", to_packages, default=[],
           help="Debian packages every node gets, e.g. bwa,samtools"),
    # [LOCAL]: the embedded provider.
    KeyDef("LOCAL", "ROOT_DIR", to_absolute_dir, default="/srv/ehpc",
           help="where node file systems and disks live"),
    KeyDef("LOCAL", "SITE", default="",
           help="local site: a network of its own on this machine (a pool's /SITE sets it)"),
    KeyDef("LOCAL", "NODE_CPUS", to_positive_int,
           help="CPUs of each node: its scheduler's count and CPU limit (default: the host's)"),
    KeyDef("LOCAL", "NODE_MEMORY", to_positive_int,
           help="MB of each node: its scheduler's RealMemory and memory limit (default: 9/10 of the host's)"),
]

SECTIONS: dict[str, dict[str, KeyDef]] = {}
for _k in _KEYS:
    SECTIONS.setdefault(_k.section, {})[_k.key] = _k


def lookup(section: str, key: str) -> KeyDef | None:
    return SECTIONS.get(section.upper(), {}).get(normalize(key))


def all_keys() -> list[KeyDef]:
    return list(_KEYS)
