"""What a create refuses before it makes anything (no machine, no journal row, no key): create
runs these checks and stops at the first refusal; the dry run shows every one, so a plan that
prints is a create that starts. The providers' own checks (credentials, image, quotas) are
theirs: `Provider.check_ready`, which both run too."""

from __future__ import annotations

from collections.abc import Callable

from ..bootstrap import required_commands
from ..config import CAPABILITIES, ClusterSpec
from ..errors import EhpcError
from ..providers.preview import Check
from ..system_packages import require_packages
from .software import check_spec_packages
from .storage import check_shared_choice


def prechecks(spec: ClusterSpec) -> list[tuple[str, Callable[[], None]]]:
    """(what, a check that raises one line) for this spec."""
    checks = [("shared file system", lambda: check_shared_choice(spec))]
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
