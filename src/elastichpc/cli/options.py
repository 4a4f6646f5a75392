"""Flags for cluster.conf settings: every key has one (`--aws-instance-type`, `--cluster-size`),
plus the short forms users type most. Flags win over the file."""

from __future__ import annotations

import argparse
from typing import Any

from ..config import all_keys, load_settings
from ..config.schema import to_bool
from ..config.spec import Settings

# The sections whose flags carry a provider's settings and credentials.
PROVIDER_SECTIONS = ("AWS", "GCE", "AZURE", "LOCAL")

SHORT = {  # alias -> (section, key)
    "--name": ("CLUSTER", "CLUSTER_PREFIX"),
    "--size": ("CLUSTER", "CLUSTER SIZE"),
    "--price": ("CLUSTER", "SPOT_PRICE"),
    "--nfs-newVolume": ("NFS", "AWS_VOLUME_SIZE"),  # the guide's AWS NFS flags (4.e)
    "--nfs-mountPoint": ("NFS", "AWS_MOUNT_POINT"),
}


def add_config_file(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-c", "--config", metavar="FILE",
        help="cluster.conf to read (default: $EHPC_CONFIG, else ./cluster.conf if present)",
    )


def add_settings_flags(parser: argparse.ArgumentParser, sections: tuple[str, ...] = ()) -> None:
    """One flag per key of the given sections (all sections when empty)."""
    add_config_file(parser)
    groups: dict[str, Any] = {}
    for keydef in all_keys():
        if sections and keydef.section not in sections:
            continue
        group = groups.get(keydef.section)
        if group is None:
            group = groups[keydef.section] = parser.add_argument_group(f"[{keydef.section}]")
        names = [keydef.flag]
        names += [a for a, target in SHORT.items() if target == (keydef.section, keydef.name)]
        extra: dict[str, Any] = {}
        if keydef.convert is to_bool:
            extra = {"nargs": "?", "const": "true"}
        group.add_argument(
            *names, dest=f"cfg:{keydef.section}:{keydef.name}", metavar="VALUE",
            help=keydef.help or None, **extra,
        )


def settings_from(args: argparse.Namespace) -> Settings:
    overrides = {}
    for dest, value in vars(args).items():
        if dest.startswith("cfg:") and value is not None:
            _, section, key = dest.split(":", 2)
            overrides[(section, key)] = value
    return load_settings(getattr(args, "config", None), overrides)
