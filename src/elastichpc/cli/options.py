"""Flags for cluster.conf settings: every key has one (`--aws-instance-type`, `--cluster-size`),
plus the short forms users type most. Flags win over the file. A command takes the flags of the
sections it uses, grouped by section in its --help; commands that only find, list or remove
resources take the access keys alone (which cloud, where, as whom)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..config.spec import Settings

# The sections whose flags carry a provider's settings and credentials.
PROVIDER_SECTIONS = ("AWS", "GCE", "AZURE", "LOCAL")

# Keys that say which provider, where and as whom (not what to build).
ACCESS_KEYS = {
    "CLUSTER": ("PROVIDER",),
    "AWS": ("pkey", "cert", "accessKey", "secretKey", "REGION", "ZONE"),
    "GCE": ("PROJECT_ID", "ZONE", "CLIENT SECRET", "COMPUTE SCOPE", "OAUTH STORAGE",
            "SERVICE EMAIL", "SCOPES", "API VERSION", "CREDENTIALS_FILE", "API_ENDPOINT"),
    "AZURE": ("SUBSCRIPTION ID", "THUMBPRINT", "STORAGE ACCOUNT", "STORAGE KEY",
              "CERTIFICATE PATH", "PKFILE", "CERT DATA PATH", "CERT PASSWORD", "REGION",
              "CONTAINER", "TENANT ID", "CLIENT ID", "RESOURCE GROUP", "ARM_ENDPOINT",
              "CA_BUNDLE", "AUTHORITY_HOST", "BLOB_ENDPOINT"),
    "LOCAL": ("ROOT_DIR",),
}

SHORT = {  # alias -> (section, key)
    "--name": ("CLUSTER", "CLUSTER_PREFIX"),
    "--size": ("CLUSTER", "CLUSTER SIZE"),
    "--price": ("CLUSTER", "SPOT_PRICE"),
    "--down": ("CLUSTER", "AUTOSTOP_DOWN"),
    "--packages": ("SOFTWARE", "PACKAGES"),
    "--nfs-newVolume": ("NFS", "AWS_VOLUME_SIZE"),  # the guide's AWS NFS flags (4.e)
    "--nfs-mountPoint": ("NFS", "AWS_MOUNT_POINT"),
}


def add_config_file(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-c", "--config", metavar="FILE",
        help="cluster.conf to read (default: $EHPC_CONFIG, else ./cluster.conf if present)",
    )


def add_settings_flags(parser: argparse.ArgumentParser, sections: tuple[str, ...] = (),
                       access: tuple[str, ...] = (), hidden: tuple[str, ...] = ()) -> None:
    """One flag per key of `sections` (every section when all three are empty), the access keys
    of `access`, and the rest of `hidden`'s keys accepted but not shown (the guide's command
    lines carry them)."""
    from ..config.schema import all_keys, normalize, to_bool

    add_config_file(parser)
    groups: dict[str, Any] = {}
    everything = not (sections or access or hidden)
    for keydef in all_keys():
        shown = everything or keydef.section in sections or (
            keydef.section in access
            and keydef.key in {normalize(k) for k in ACCESS_KEYS.get(keydef.section, ())})
        if not shown and keydef.section not in hidden:
            continue
        group = groups.get(keydef.section)
        if group is None:
            group = groups[keydef.section] = parser.add_argument_group(f"[{keydef.section}]")
        names = [keydef.flag]
        names += [a for a, target in SHORT.items() if target == (keydef.section, keydef.name)]
        extra: dict[str, Any] = {}
        if keydef.convert is to_bool:
            extra = {"nargs": "?", "const": "true"}
        elif keydef.repeatable:
            extra = {"action": "append"}
        group.add_argument(
            *names, dest=f"cfg:{keydef.section}:{keydef.name}", metavar="VALUE",
            help=(keydef.help or None) if shown else argparse.SUPPRESS, **extra,
        )


def add_access_flags(parser: argparse.ArgumentParser, *sections: str,
                     accept_all: bool = False) -> None:
    """The access keys of every provider (and `sections` in full); with `accept_all` the other
    provider keys too, hidden, for the guide's command lines that pass them everywhere."""
    add_settings_flags(parser, sections, access=("CLUSTER", *PROVIDER_SECTIONS),
                       hidden=PROVIDER_SECTIONS if accept_all else ())


def settings_from(args: argparse.Namespace) -> Settings:
    from ..config import load_settings

    overrides = {}
    for dest, value in vars(args).items():
        if dest.startswith("cfg:") and value is not None:
            _, section, key = dest.split(":", 2)
            overrides[(section, key)] = ",".join(value) if isinstance(value, list) else value
    return load_settings(getattr(args, "config", None), overrides)
