"""The lab's network, inside its sealed namespace: an "internet" bridge (lab-inet) that carries
the caller's address and the package mirror's, and a bridge per cloud network (VPC, GCE network,
VNet) whose subnets' gateways are this namespace. Public addresses work as on the clouds, by 1:1
NAT in the "internet gateway" (this namespace): the instance only sees its private address.

nftables (table ip lab): DNAT public -> private (from the lab and between instances), SNAT of an
instance's traffic to its public address, no forwarding between two cloud networks except
through public addresses, and only instances with an outbound path (a public address, or a
NAT gateway) reach the mirror and the clouds' APIs (API_IP). An instance behind a NAT gateway
reaches public addresses from the gateway's address (Azure: even when it has a public address
of its own). Nothing here routes off the machine: the namespace has no link to it.
"""

from __future__ import annotations

import ipaddress
import subprocess
import zlib

INTERNET = "lab-inet"
CALLER_NET = "203.0.113.0/24"  # TEST-NET-3: where the lab's own clients (ehpc, tests) come from
CALLER_IP = "203.0.113.1"
MIRROR_IP = "192.0.2.80"  # TEST-NET-1: deb.debian.org inside the lab
# The clouds' API endpoints (the emulators), where the lab's clients and the machines with an
# outbound path (a head agent calling its cloud) both reach them, as a real cloud's API is.
API_IP = "192.0.2.10"

RULES = f"""
table ip lab {{
  map to_private {{ type ipv4_addr : ipv4_addr; }}
  map to_public {{ type ipv4_addr : ipv4_addr; }}
  map via_nat {{ type ipv4_addr : ipv4_addr; }}
  set machines {{ type ipv4_addr; }}
  set outbound {{ type ipv4_addr; }}
  chain pre {{ type nat hook prerouting priority dstnat; dnat to ip daddr map @to_private; }}
  chain out {{ type nat hook output priority -100; dnat to ip daddr map @to_private; }}
  chain post {{
    type nat hook postrouting priority srcnat;
    ct status dnat ip saddr @machines snat to ip saddr map @via_nat
    ct status dnat ip saddr @machines snat to ip saddr map @to_public
    ct status dnat ip saddr != @machines snat to {CALLER_IP}
  }}
  chain forward {{
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    ct status dnat ip saddr != @machines accept
    ct status dnat ip saddr @outbound accept
  }}
  chain input {{
    type filter hook input priority filter; policy accept;
    ip saddr @machines ct state established,related accept
    ip saddr @machines ip saddr @outbound ip daddr {MIRROR_IP} tcp dport 80 accept
    ip saddr @machines ip saddr @outbound ip daddr {API_IP} meta l4proto tcp accept
    ip saddr @machines drop
  }}
}}
"""


def run(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True)


def nft(script: str) -> None:
    subprocess.run(["nft", "-f", "-"], input=script.encode(), check=True, capture_output=True)


def setup() -> None:
    """Loopback, the internet bridge, forwarding and the rules (in the current namespace)."""
    run("ip", "link", "set", "lo", "up")
    run("ip", "link", "add", INTERNET, "type", "bridge")
    run("ip", "addr", "add", f"{CALLER_IP}/24", "dev", INTERNET)
    run("ip", "addr", "add", f"{MIRROR_IP}/32", "dev", INTERNET)
    run("ip", "addr", "add", f"{API_IP}/32", "dev", INTERNET)
    run("ip", "link", "set", INTERNET, "up")
    # Every address not in a cloud network is "the internet", which is this bridge only.
    run("ip", "route", "add", "default", "dev", INTERNET)
    with open("/proc/sys/net/ipv4/ip_forward", "w") as f:
        f.write("1\n")
    nft(RULES)


def add_network(bridge: str, subnets: list[str]) -> None:
    """A cloud network: a bridge holding each subnet's gateway (.1); forwarding within it.
    The bridge has a MAC of its own: else it takes its lowest port's and changes it when that
    machine goes, and the others lose their gateway until their ARP entry goes stale."""
    mac = "02:1a:" + ":".join(f"{b:02x}" for b in zlib.crc32(bridge.encode()).to_bytes(4, "big"))
    run("ip", "link", "add", bridge, "address", mac, "type", "bridge")
    for cidr in subnets:
        add_subnet(bridge, cidr)
    run("ip", "link", "set", bridge, "up")
    nft(f'add rule ip lab forward iifname "{bridge}" oifname "{bridge}" accept\n')


def remove_network(bridge: str) -> None:
    """The bridge, its addresses and routes; its forwarding rule stays (harmless, by name)."""
    subprocess.run(["ip", "link", "del", bridge], capture_output=True)


def add_subnet(bridge: str, cidr: str) -> None:
    net = ipaddress.ip_network(cidr)
    subprocess.run(["ip", "addr", "replace", f"{gateway(cidr)}/{net.prefixlen}", "dev", bridge],
                   check=True, capture_output=True)


def gateway(cidr: str) -> str:
    return str(next(ipaddress.ip_network(cidr).hosts()))


def add_machine(private: str, public: str | None, nat: str | None) -> None:
    lines = [f"add element ip lab machines {{ {private} }}"]
    if public:
        lines += [f"add element ip lab to_private {{ {public} : {private} }}",
                  f"add element ip lab to_public {{ {private} : {public} }}"]
    if nat:
        lines.append(f"add element ip lab via_nat {{ {private} : {nat} }}")
    if nat or public:
        lines.append(f"add element ip lab outbound {{ {private} }}")
    nft("\n".join(lines) + "\n")


def remove_machine(private: str, public: str | None) -> None:
    lines = [f"delete element ip lab machines {{ {private} }}"]
    for name, key in (("outbound", private), ("to_private", public), ("to_public", private),
                      ("via_nat", private)):
        if key:
            lines.append(f"delete element ip lab {name} {{ {key} }}")
    for line in lines:  # each on its own: an absent element is not an error here
        subprocess.run(["nft", line], capture_output=True)
