"""A cluster's providers as one: each place's calls go to the provider of that place (a
provider, with the settings of its region, zone or local site) and the answers are unioned.

A one-provider cluster has one place, so its fleet is exactly its provider. Providers are made
on first use (a cloud SDK loads only when its place is asked something).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from ..config import CAPABILITIES, ClusterSpec, Placement, Settings
from ..errors import EhpcError
from ..providers import Machine, NodePlan, Provider, Report, get_provider
from ..providers.network import OVERLAY_PORT
from .plan import planned_pools

LIVE = ("running", "pending")
T = TypeVar("T")
R = TypeVar("R")


def each(work: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """`work` on every item at once (one thread each: these are cloud calls); the first error
    is raised once all have finished, so no call is left running behind it."""
    items = list(items)
    if len(items) <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(max_workers=len(items)) as pool:
        futures = [pool.submit(work, item) for item in items]
        errors = [f.exception() for f in futures]
    for error in errors:
        if error is not None:
            raise error
    return [f.result() for f in futures]


class Fleet:
    def __init__(self, spec: ClusterSpec, known: dict[str, str] | None = None) -> None:
        """`known`: node name -> pool, as the journal recorded it (else the spec's plan)."""
        self.spec = spec
        self.pool_of = {**planned_pools(spec), **(known or {})}
        # The head agent's: it reaches every node at its private address (the cluster's firewall
        # lets in all traffic between its nodes; their public addresses only the client's).
        self.from_head = False
        self._providers: dict[str, Provider] = {}

    @property
    def places(self) -> list[Placement]:
        """The head's place and every pool's, each once."""
        found: dict[str, Placement] = {p.name: p for p in self.spec.pools}
        return [found.get(self.spec.head.name, self.spec.head),
                *(p for name, p in found.items() if name != self.spec.head.name)]

    def place(self, name: str) -> Placement:
        return next(p for p in self.places if p.name == name)

    def provider(self, place: str) -> Provider:
        """The provider of one place (by its name: `aws`, `gce/europe-west1-b`, `local/b`)."""
        if place not in self._providers:
            spec = self.spec.at(self.place(place))
            self._providers[place] = get_provider(self.place(place).provider, spec.settings)
        return self._providers[place]

    def use(self, place: str, provider: Provider) -> None:
        """Send `place`'s calls to this provider object (the head agent's way to its cloud)."""
        self._providers[place] = provider

    @property
    def head(self) -> Provider:
        return self.provider(self.spec.head.name)

    def place_of(self, node: str, role: str) -> str:
        return self.spec.head.name if role == "head" else self.pool_of.get(node, self.spec.pools[0].name)

    def provider_of(self, machine: Machine) -> Provider:
        return self.provider(self.place_of(machine.name, machine.role))

    def region(self, place: str) -> str:
        """The region, zone or local site of a place ("" when the provider has none set)."""
        provider = self.place(place).provider
        return str(self.provider(place).settings.get(*CAPABILITIES[provider].site_key) or "")

    def check_ready(self, launching: bool = True) -> None:
        """Every place's credentials and tools (and, `launching`, what a launch there needs),
        each refusal one line naming its provider, before anything is made."""
        each(lambda p: self.provider(p.name).check_ready(self.spec.at(p) if launching else None),
             self.places)

    # ---- machines ---------------------------------------------------------------------------
    def launch(self, plans: list[NodePlan], report: Report) -> list[Machine]:
        """Every place's plans to its provider, all places at once; the first refusal is raised
        once every place has answered."""
        answers = self.launch_each(plans, report)
        for answer in answers.values():
            if isinstance(answer, EhpcError):
                raise answer
        return [m for found in answers.values() if not isinstance(found, EhpcError) for m in found]

    def launch_each(self, plans: list[NodePlan], report: Report
                    ) -> dict[str, list[Machine] | EhpcError]:
        """The same, with each place's own answer: its machines, or its provider's refusal
        (the head agent's repairs go on elsewhere with what one place refused)."""
        groups: dict[str, list[NodePlan]] = {}
        for plan in plans:
            groups.setdefault(plan.pool or self.spec.head.name, []).append(plan)
        several = len(groups) > 1

        def launch_at(place: str) -> list[Machine] | EhpcError:
            def tell(line: str) -> None:
                report(f"{place}: {line}" if several else line)

            spec = self.spec.at(self.place(place))
            try:
                return self._annotate(self.provider(place).launch(spec, groups[place], tell), place)
            except EhpcError as err:
                return err

        return dict(zip(groups, each(launch_at, groups), strict=True))

    def open_overlay(self, machines: list[Machine]) -> None:
        """Let the overlay's port into the head from the other nodes' public addresses and the
        addresses their outbound connections come from (an Azure subnet's NAT gateway): each
        compute node dials the head, so these are all the head must let in."""
        sources = {str(address) for m in machines if m.role != "head"
                   for address in (m.extra.get("public_address") or m.address,
                                   m.extra.get("outbound_address")) if address}
        self.head.allow_overlay(self.spec.name, OVERLAY_PORT, sorted(sources))

    def _annotate(self, machines: list[Machine], listed_at: str) -> list[Machine]:
        names = {p.name for p in self.places}
        for machine in machines:
            place = self.place_of(machine.name, machine.role)
            place = place if place in names and machine.role != "unknown" else listed_at
            machine.provider = self.place(place).provider
            machine.pool = "" if machine.role == "head" else place
            machine.region = self.region(place)
        return machines

    def _scopes(self) -> list[str]:
        """The fewest places whose inventories together see every machine: one per provider,
        or one per region where a provider lists a region at a time."""
        scopes: dict[tuple[str, str], str] = {}
        for place in self.places:
            regional = CAPABILITIES[place.provider].regional_inventory
            key = (place.provider, self.region(place.name) if regional else "")
            scopes.setdefault(key, place.name)
        return list(scopes.values())

    def machines(self) -> list[Machine]:
        """The cluster's machines as the clouds find them by tag, each once: where two clouds
        hold one name (a node rebuilt elsewhere, before its old cloud let go of what it kept),
        the one that runs."""
        found: dict[str, Machine] = {}
        for place, machines in zip(self._scopes(), each(
                lambda p: self.provider(p).machines(self.spec.name), self._scopes()), strict=True):
            for machine in self._annotate(machines, place):
                known = found.get(machine.name)
                if known is None or (known.state not in LIVE and machine.state in LIVE):
                    found[machine.name] = machine
        return sorted(found.values(), key=lambda m: (m.role != "head", m.extra.get("slot", 0), m.name))

    def terminate_nodes(self, names: list[str], report: Report) -> list[str]:
        """Remove these compute nodes, each through its pool's provider."""
        groups: dict[str, list[str]] = {}
        for name in names:
            groups.setdefault(self.place_of(name, "compute"), []).append(name)
        removed = each(lambda p: self.provider(p).terminate_nodes(self.spec.name, groups[p], report), groups)
        return [item for items in removed for item in items]

    def terminate(self, report: Report) -> list[str]:
        """Everything tagged with the cluster, on every provider and region of it."""
        removed = each(lambda p: self.provider(p).terminate(self.spec.name, report), self._scopes())
        return [item for items in removed for item in items]


def account_provider(settings: Settings, default: str) -> Provider:
    """The provider `[CLUSTER] PROVIDER` names (else `default`), ready: for commands about an
    account rather than a cluster (disks, spot requests and prices)."""
    name = settings.get("CLUSTER", "PROVIDER") if settings.is_set("CLUSTER", "PROVIDER") else default
    provider = get_provider(name, settings)
    provider.check_ready()
    return provider
