"""The third-party distributions the head agent imports, copied from the client's own environment.

A cloud head's stock python3 has none of them (starlette and uvicorn for the agent's API, the
cloud SDK of each provider of the cluster) and often no way to install them. The client ships
what it runs itself: the distributions elastichpc requires, with the extra of each provider of
the cluster (pyproject's `aws`, `gce`, `azure`), followed through their own requirements, as
installed (their site-packages files). Providers leave out data their SDK carries for services
they never call (Provider.agent_keeps). A distribution with compiled modules loads only on a head
whose Python is the client's version (the agent's `check` says so when it is not).
"""

from __future__ import annotations

import importlib.metadata as metadata
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

OWN = "elastichpc"  # shipped from the package this process imported (install.PACKAGE)


def required(extras: set[str]) -> list[metadata.Distribution]:
    """elastichpc's requirements with these extras, and theirs, each distribution once
    (a requirement the client has not installed is left to the head's check to name); and the
    system-installed distributions of the modules this process has loaded, which may declare no
    requirements at all (Debian's python3-requests lists none, yet imports urllib3, idna and
    certifi; a cluster's SDK has been imported by the time its agent is packed)."""
    done: dict[str, set[str]] = {}
    found: dict[str, metadata.Distribution] = {}
    todo = [(OWN, extras), *((name, set()) for name in _loaded_without_record())]
    while todo:
        name, wanted = todo.pop()
        key = canonicalize_name(name)
        if key in done and wanted <= done[key]:
            continue
        done[key] = done.get(key, set()) | wanted
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        if key != OWN:
            found[key] = dist
        for line in dist.requires or []:
            requirement = Requirement(line)
            marker = requirement.marker
            if marker is None or any(marker.evaluate({"extra": e}) for e in done[key] or {""}):
                todo.append((requirement.name, set(requirement.extras)))
    return [found[k] for k in sorted(found)]


def _loaded_without_record() -> set[str]:
    owners = metadata.packages_distributions()
    tops = {name.partition(".")[0] for name in list(sys.modules)}
    return {dist for top in tops for dist in owners.get(top, [])
            if metadata.distribution(dist).files is None}


def files_of(dist: metadata.Distribution) -> Iterator[tuple[str, Path]]:
    """(path under its site directory, file) of each file of the distribution. One that the
    system's package manager installed (Debian's python3-urllib3, python3-six...: pip leaves them
    in place when they satisfy a requirement) lists none, having no RECORD: its top-level
    modules and packages then, whole, as its top_level.txt names them."""
    if dist.files is not None:
        for entry in dist.files:
            yield entry.as_posix(), Path(str(dist.locate_file(entry)))
        return
    site = Path(str(dist.locate_file("")))
    for top in (dist.read_text("top_level.txt") or dist.metadata["Name"].replace("-", "_")).split():
        package = site / top
        for path in sorted(package.rglob("*") if package.is_dir() else site.glob(f"{top}.*")):
            yield path.relative_to(site).as_posix(), path


def library_files(extras: set[str], keeps: Callable[[str], bool]) -> Iterator[tuple[str, Path]]:
    """(path under site-packages, file) of every file of those distributions that `keeps`
    accepts; no byte code (the head compiles its own) and nothing outside site-packages."""
    for dist in required(extras):
        for relative, path in files_of(dist):
            skip = relative.startswith("../") or relative.endswith(".pyc")
            if not skip and "__pycache__" not in relative.split("/") and path.is_file() and keeps(relative):
                yield relative, path
