"""Who may reach a cluster: the caller's address range, never the whole world by default.

Without [FIREWALL] FW_SOURCE (or $EHPC_CALLER_CIDR) a create asks checkip.amazonaws.com for this
machine's public address, and says so; not when the cloud endpoint is on this machine (an
emulator): nothing outside could connect then, so loopback is the range and nothing is asked.
"""

from __future__ import annotations

import ipaddress
import os
import sys
import urllib.parse

from ..config import Settings
from ..errors import ConfigError, PrerequisiteError

WHAT_IS_MY_IP = "https://checkip.amazonaws.com"
OVERLAY_PORT = 51820  # the WireGuard overlay's UDP port: open only between a cluster's nodes
LOOPBACK = "127.0.0.1/32"
CALLER_ENV = "EHPC_CALLER_CIDR"


def is_local_endpoint(url: str) -> bool:
    """An API endpoint on this machine (localhost, 127.0.0.0/8, ::1)."""
    host = urllib.parse.urlsplit(url if "//" in url else f"//{url}").hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_WARNED: set[str] = set()


def source_cidr(settings: Settings, endpoint: str = "") -> str:
    """[FIREWALL] FW_SOURCE, else $EHPC_CALLER_CIDR, else loopback for an endpoint on this
    machine, else this machine's public address /32 (asked of WHAT_IS_MY_IP)."""
    configured = settings.get("FIREWALL", "FW_SOURCE") or os.environ.get(CALLER_ENV)
    if configured:
        try:
            network = ipaddress.ip_network(configured, strict=False)
        except ValueError:
            raise ConfigError(f"[FIREWALL] FW_SOURCE {configured!r} is not a CIDR range") from None
        if network.prefixlen == 0 and str(network) not in _WARNED:
            _WARNED.add(str(network))  # once per command, however many providers ask
            print(f"ehpc: warning: [FIREWALL] FW_SOURCE {network} opens SSH (and the FW_PORTs) to "
                  "the whole Internet", file=sys.stderr)
        return str(network)
    if endpoint and is_local_endpoint(endpoint):
        print(f"ehpc: note: [FIREWALL] FW_SOURCE is not set and the cloud endpoint {endpoint} is "
              f"on this machine: SSH is opened to {LOOPBACK} only, no address lookup",
              file=sys.stderr)
        return LOOPBACK
    url = os.environ.get("EHPC_WHAT_IS_MY_IP", WHAT_IS_MY_IP)  # tests point it at loopback
    print(f"ehpc: note: [FIREWALL] FW_SOURCE is not set: asking {url} for this machine's public "
          "address, to open SSH to it only (set FW_SOURCE to skip this)", file=sys.stderr)
    import urllib.request  # only here: it costs ~60 ms of start-up to every command

    try:
        with urllib.request.urlopen(url, timeout=3) as answer:
            address = ipaddress.ip_address(answer.read().decode().strip())
    except (OSError, ValueError):
        raise PrerequisiteError(
            "cannot tell this machine's public address to open SSH to it only: set "
            "[FIREWALL] FW_SOURCE (or --firewall-fw-source) to the range you connect from"
        ) from None
    return f"{address}/{32 if address.version == 4 else 128}"
