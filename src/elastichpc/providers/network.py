"""Who may reach a cluster: the caller's address range, never the whole world by default."""

from __future__ import annotations

import ipaddress
import os
import urllib.request

from ..config import Settings
from ..errors import ConfigError, PrerequisiteError

WHAT_IS_MY_IP = "https://checkip.amazonaws.com"
OVERLAY_PORT = 51820  # the WireGuard overlay's UDP port: open only between a cluster's nodes


def source_cidr(settings: Settings) -> str:
    """[FIREWALL] FW_SOURCE, else $EHPC_CALLER_CIDR, else this machine's public address /32."""
    configured = settings.get("FIREWALL", "FW_SOURCE") or os.environ.get("EHPC_CALLER_CIDR")
    if configured:
        try:
            return str(ipaddress.ip_network(configured, strict=False))
        except ValueError:
            raise ConfigError(f"[FIREWALL] FW_SOURCE {configured!r} is not a CIDR range") from None
    try:
        with urllib.request.urlopen(WHAT_IS_MY_IP, timeout=3) as answer:
            address = ipaddress.ip_address(answer.read().decode().strip())
    except (OSError, ValueError):
        raise PrerequisiteError(
            "cannot tell this machine's public address to open SSH to it only: set "
            "[FIREWALL] FW_SOURCE (or --firewall-fw-source) to the range you connect from"
        ) from None
    return f"{address}/{32 if address.version == 4 else 128}"
