"""What a create would make at one place and what it would cost: filled by a provider's
`preview` from read-only calls (lookups, price lists, quotas), never by making anything."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class MachineGroup:
    """Alike machines of one place: the head, or a pool's compute nodes."""

    role: str  # head or compute
    instance_type: str | None  # None on the local provider (a namespace, no size)
    count: int
    spot: bool = False
    max_price: float | None = None  # spot: the most the user pays per machine-hour
    hourly: float | None = None  # price per machine-hour in USD, when the provider tells it
    price_source: str = ""  # where the price came from, or why there is none

    @property
    def market(self) -> str:
        if not self.spot:
            return "on-demand"
        return f"spot ≤ ${self.max_price:g}/h" if self.max_price is not None else "spot"


@dataclass
class Check:
    """A read-only check of what the create needs (credentials, image, quota, names)."""

    what: str
    ok: bool
    detail: str


@dataclass
class Preview:
    region: str = ""
    image: str = ""
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def check(self, what: str, ok: bool, detail: str) -> None:
        self.checks.append(Check(what, ok, detail))
