"""What a create refuses before it makes anything (no machine, no journal row, no key): create
runs these checks and stops at the first refusal; the dry run shows every one, so a plan that
prints is a create that starts. The providers' own checks (credentials, image, quotas) are
theirs: `Provider.check_ready`, which both run too."""

from __future__ import annotations

from collections.abc import Callable

from ..bootstrap import required_commands
from ..config import CAPABILITIES, ClusterSpec
from ..config.schema import lookup
from ..errors import ConfigError, EhpcError
from ..providers.preview import Check
from ..system_packages import require_packages
from .software import check_spec_packages
from .storage import check_shared_choice

# [CLUSTER] keys that do nothing without another: a key given alone is refused, not dropped.
NEEDS = (("BUDGET_ACTION", "BUDGET", "a budget"), ("AUTOSTOP_DOWN", "AUTOSTOP", "an idle stop"),
         ("MIN_NODES", "MAX_NODES", "autoscaling"))


def check_settings_together(spec: ClusterSpec) -> None:
    """Settings that only mean something with others: a lone one, and a failover order that
    names no pool of the cluster, are refused."""
    settings = spec.settings
    for key, needed, what in NEEDS:
        if settings.is_set("CLUSTER", key) and settings.get("CLUSTER", key) is not False \
                and not settings.is_set("CLUSTER", needed):
            raise ConfigError(f"{settings.source('CLUSTER', key)} does nothing without {what}: "
                              f"set {_flag(needed)} too, or leave it out")
    autoscaled = any(pool.max_nodes for pool in spec.pools)
    if settings.is_set("CLUSTER", "SCALEDOWN_IDLE") and not autoscaled:
        raise ConfigError(f"{settings.source('CLUSTER', 'SCALEDOWN_IDLE')} does nothing without "
                          "autoscaling: set --max-nodes (or a pool's MIN-MAX) too, or leave it out")
    pools = [pool.name for pool in spec.pools]
    unknown = [name for name in settings.get("CLUSTER", "FAILOVER") if name not in pools]
    if unknown:
        raise ConfigError(f"{settings.source('CLUSTER', 'FAILOVER')} names {', '.join(unknown)}, "
                          f"not a pool of the cluster (its pools: {', '.join(pools)})")


def _flag(key: str) -> str:
    found = lookup("CLUSTER", key)
    assert found is not None
    return found.flag


def prechecks(spec: ClusterSpec) -> list[tuple[str, Callable[[], None]]]:
    """(what, a check that raises one line) for this spec."""
    checks = [("settings", lambda: check_settings_together(spec)),
              ("shared file system", lambda: check_shared_choice(spec))]
    if spec.packages:
        checks.append(("packages", lambda: check_spec_packages(spec)))
    if any(CAPABILITIES[p].shares_host_software for p in spec.providers):  # nodes run our /usr
        checks.append((f"{spec.scheduler} on this machine", lambda: require_packages(
            required_commands(spec.scheduler), f"{spec.scheduler} nodes")))
    return checks


def run_prechecks(spec: ClusterSpec) -> None:
    for _, check in prechecks(spec):
        check()


def precheck_results(spec: ClusterSpec) -> list[Check]:
    results = []
    for what, check in prechecks(spec):
        try:
            check()
        except EhpcError as err:
            results.append(Check(what, False, str(err)))
        else:
            results.append(Check(what, True, "ok"))
    return results
