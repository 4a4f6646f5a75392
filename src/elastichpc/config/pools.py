"""A cluster is a head plus node pools; a pool is a number of nodes in one place of one provider.

Three ways to say it, one result:
- `--head PROVIDER[/SITE]` and `--pool PROVIDER[/SITE]:COUNT[:spot[:PRICE]]` (repeatable; in
  cluster.conf `[CLUSTER] HEAD` and `POOL = gce:4, azure:2:spot`); a COUNT of MIN-MAX makes the
  pool autoscaled (`--max-nodes` is the same for the one pool of `--size`);
- the guide's `[CROSS]` (a count per provider, `MASTER` the head's provider), read with `--cross`;
- neither: one pool of `CLUSTER SIZE` nodes on `PROVIDER` (every cluster before pools).
A SITE is the provider's region or zone (`aws/us-west-2`, `gce/europe-west1-b`) or, on the local
provider, any name: each local site is its own network (`local/a`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import ConfigError
from .capabilities import CAPABILITIES
from .schema import PROVIDERS

if TYPE_CHECKING:
    from .spec import Settings

SITE_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
MARKETS = ("on-demand", "spot")


@dataclass(frozen=True)
class Placement:
    """Where machines go: a provider and one of its sites ("" = the provider's configured one)."""

    provider: str
    site: str = ""
    instance_type: str | None = None  # None: the provider section's type for the role

    @property
    def name(self) -> str:
        return f"{self.provider}/{self.site}" if self.site else self.provider


@dataclass(frozen=True)
class Pool(Placement):
    count: int = 0
    spot: bool = False
    max_price: float | None = None  # per hour, spot only; None = the cloud's on-demand cap
    min_nodes: int | None = None  # bounds an autoscaler may keep the pool within
    max_nodes: int | None = None

    @property
    def market(self) -> str:
        return "spot" if self.spot else "on-demand"


def parse_placement(text: str, what: str) -> Placement:
    provider, sep, site = text.strip().lower().partition("/")
    if provider not in PROVIDERS:
        raise ConfigError(f"{what} {text!r}: unknown provider {provider!r} "
                          f"(expected one of {', '.join(PROVIDERS)})")
    if sep and not SITE_RE.match(site):
        raise ConfigError(f"{what} {text!r}: the site {site!r} must be lowercase letters, "
                          "digits and '-' (a region, a zone or a local site name)")
    return Placement(provider, site)


def parse_pool(text: str, spot: bool = False, price: float | None = None) -> Pool:
    """`PROVIDER[/SITE]:COUNT[:spot[:PRICE]]`, COUNT a number or MIN-MAX (an autoscaled pool
    that create makes with MIN nodes); `spot`/`price` are [CLUSTER]'s defaults."""
    usage = ("expected PROVIDER[/SITE]:COUNT[:spot[:PRICE]] (COUNT a number or MIN-MAX), "
             "e.g. gce:4, aws/us-west-2:2:spot:0.05 or local/b:0-8")
    parts = text.strip().split(":")
    if not 2 <= len(parts) <= 4:
        raise ConfigError(f"--pool {text!r}: {usage}")
    place = parse_placement(parts[0], "--pool")
    least, dash, most = parts[1].partition("-")
    try:
        count, bound = int(least), int(most) if dash else None
    except ValueError:
        raise ConfigError(f"--pool {text!r}: the count {parts[1]!r} is not a whole number "
                          "or MIN-MAX") from None
    if count < 0:
        raise ConfigError(f"--pool {text!r}: the count must be 0 or more")
    if bound is not None and (bound < count or bound < 1):
        raise ConfigError(f"--pool {text!r}: MIN-MAX needs MIN <= MAX and MAX >= 1")
    if len(parts) >= 3:
        if parts[2].lower() not in ("spot", "on-demand"):
            raise ConfigError(f"--pool {text!r}: the market is spot or on-demand, not {parts[2]!r}")
        spot, price = parts[2].lower() == "spot", None
    if len(parts) == 4:
        if not spot:
            raise ConfigError(f"--pool {text!r}: a maximum price is for spot pools only")
        try:
            price = float(parts[3])
        except ValueError:
            raise ConfigError(f"--pool {text!r}: the price {parts[3]!r} is not a number") from None
    if price is not None and not (math.isfinite(price) and price > 0):
        raise ConfigError(f"--pool {text!r}: the maximum price must be positive")
    return Pool(place.provider, place.site, count=count, spot=spot, max_price=price,
                min_nodes=count if bound is not None else None, max_nodes=bound)


def _cross_pools(settings: Settings, spot: bool, price: float | None) -> tuple[Placement, list[Pool]]:
    """The guide's [CROSS]: a count per provider (0 = no pool) and MASTER, the head's provider."""
    counts = {p: settings.get("CROSS", p.upper()) for p in PROVIDERS}
    for provider, count in counts.items():
        if count < 0:
            raise ConfigError(f"[CROSS] {provider.upper()} = {count}: a count is 0 or more")
    pools = [Pool(p, count=n, spot=spot, max_price=price) for p, n in counts.items() if n > 0]
    if not pools:
        raise ConfigError("[CROSS] gives every provider 0 nodes: set a count, e.g. GCE = 4")
    master = settings.get("CROSS", "MASTER")
    if not master:
        raise ConfigError("[CROSS] MASTER is not set: name the provider of the head, e.g. MASTER = aws")
    if master not in counts or counts[master] == 0:
        listed = ", ".join(p.provider for p in pools)
        raise ConfigError(f"[CROSS] MASTER = {master} is not among the providers with nodes ({listed})")
    return Placement(master), pools


def read_pools(settings: Settings) -> tuple[Placement, list[Pool]]:
    """The head and the pools the settings ask for (see the module's docstring)."""
    spot = bool(settings.get("CLUSTER", "SPOT"))
    price = settings.get("CLUSTER", "SPOT_PRICE")  # finite and above 0 (the schema's check)
    spot = spot or price is not None
    texts = settings.get("CLUSTER", "POOL")
    if texts and settings.is_set("CLUSTER", "CLUSTER SIZE"):
        raise ConfigError("give the compute nodes either as --size or as --pool, not both")
    if texts:
        pools = [parse_pool(text, spot, price) for text in texts]
        head_text = settings.get("CLUSTER", "HEAD")
        first = pools[0]
        head = parse_placement(head_text, "--head") if head_text else Placement(first.provider, first.site)
        pools = [p for p in pools if p.count > 0 or p.max_nodes]
        if not pools:
            raise ConfigError("every --pool has 0 nodes: a cluster needs at least one compute node")
    elif settings.get("CLUSTER", "CROSS"):
        head, pools = _cross_pools(settings, spot, price)
    else:
        provider = settings.get("CLUSTER", "PROVIDER")
        head_text = settings.get("CLUSTER", "HEAD")
        head = parse_placement(head_text, "--head") if head_text else Placement(provider)
        pools = [_size_pool(settings, head, spot, price)]
    _check(settings, pools)
    return head, pools


def _size_pool(settings: Settings, head: Placement, spot: bool, price: float | None) -> Pool:
    """The one pool of --size; with --max-nodes it is autoscaled between MIN_NODES and MAX_NODES
    (its count, what create makes, is the minimum)."""
    size = settings.get("CLUSTER", "CLUSTER SIZE")
    most = settings.get("CLUSTER", "MAX_NODES")
    if most is None:
        return Pool(head.provider, head.site, count=size, spot=spot, max_price=price)
    least = settings.get("CLUSTER", "MIN_NODES")
    if least is None:
        least = size if settings.is_set("CLUSTER", "CLUSTER SIZE") else 0
    if not 0 <= least <= most or most < 1:
        raise ConfigError(f"--min-nodes {least} / --max-nodes {most}: expected 0 <= min <= max, max >= 1")
    return Pool(head.provider, head.site, count=least, spot=spot, max_price=price,
                min_nodes=least, max_nodes=most)


def _check(settings: Settings, pools: list[Pool]) -> None:
    names = [p.name for p in pools]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(f"two pools in the same place: {', '.join(twice)} (give one pool its total)")
    for provider in dict.fromkeys(p.provider for p in pools):
        total = sum(max(p.count, p.max_nodes or 0) for p in pools if p.provider == provider)
        limit = CAPABILITIES[provider].max_nodes
        if not 1 <= total <= limit:
            source = settings.source("CLUSTER", "CLUSTER SIZE")
            raise ConfigError(f"{source}: cluster size must be 1 to {limit} compute nodes on "
                              f"{provider}, got {total}")
