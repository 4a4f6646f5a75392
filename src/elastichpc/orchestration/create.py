"""Creating a cluster: launch machines on every place of the fleet, reach them over SSH,
bootstrap, wait for the scheduler.

Every step is idempotent and the journal records the cluster as `creating` until the scheduler
reports all compute nodes idle, so an interrupted create is finished by running it again, or
undone by `terminate`.
"""

from __future__ import annotations

from ..config import CAPABILITIES, ClusterSpec
from ..remote import ClusterKeys
from ..state import Journal
from .context import ClusterContext, open_cluster
from .cost import price_runs
from .fleet import Fleet
from .join import bootstrap_machines
from .plan import plan_nodes
from .prechecks import run_prechecks
from .progress import Progress
from .record import record_machines, start_cluster
from .software import install_here


def uses_spot_requests(spec: ClusterSpec) -> bool:
    """A one-pool spot cluster on a provider with the guide's spot requests (AWS): its nodes
    come from requests at a price and join as each is fulfilled."""
    return (len(spec.pools) == 1 and spec.pools[0].spot
            and CAPABILITIES[spec.pools[0].provider].spot_requests)


def create_cluster(
    spec: ClusterSpec,
    progress: Progress | None = None,
    journal: Journal | None = None,
    provision_only: bool = False,
) -> ClusterContext:
    """Create (or finish creating) a cluster. `provision_only` stops once the machines exist
    and the SSH files are written (status `provisioned`): no SSH, no bootstrap."""
    progress = progress or Progress()
    journal = journal or Journal()
    with journal.cluster_lock(spec.name, "being created"):
        return _create(spec, progress, journal, provision_only)


def _create(spec: ClusterSpec, progress: Progress, journal: Journal,
            provision_only: bool) -> ClusterContext:
    run_prechecks(spec)  # before anything is made
    if uses_spot_requests(spec):
        from .spot import request_spot_cluster

        return request_spot_cluster(spec, progress, journal, provision_only)
    fleet = Fleet(spec)
    fleet.check_ready()
    if any(CAPABILITIES[p].shares_host_software for p in spec.providers):  # nodes run our /usr
        install_here(spec.packages, progress)
    start_cluster(spec, journal)
    progress.note(
        f"Creating cluster {spec.name}: 1 head + {spec.size} compute nodes, {spec.scheduler}, "
        f"on {', '.join(spec.places)}"
    )
    try:
        _build(spec, fleet, journal, progress, provision_only)
    except KeyboardInterrupt:
        journal.event(spec.name, "interrupted", "create interrupted")
        raise
    except Exception as err:
        journal.set_status(spec.name, "failed", str(err))
        raise
    journal.set_status(spec.name, "provisioned" if provision_only else "running")
    return open_cluster(spec.name, journal)


def _build(spec: ClusterSpec, fleet: Fleet, journal: Journal, progress: Progress,
           provision_only: bool) -> None:
    keys = ClusterKeys(journal.cluster_dir(spec.name), spec.name)
    plans = plan_nodes(spec, fleet, keys)
    with progress.step(f"launching 1 head + {spec.size} compute nodes on {', '.join(spec.places)}"):
        machines = fleet.launch(plans, progress.detail)
        record_machines(journal, spec.name, machines)
    if spec.overlay:
        with progress.step("opening the overlay's port on the head to the other nodes only"):
            fleet.open_overlay(machines)
    bootstrap_machines(spec, fleet, keys, machines, progress, provision_only, journal)
    context = open_cluster(spec.name, journal, spec.settings)
    context.fleet = fleet  # the providers this create made and checked, not a second set
    with progress.step("reading the machines' prices"):  # for `cluster list` and job costs
        price_runs(context)
    if not provision_only:
        from ..agent.install import install_agent

        install_agent(context, progress)
