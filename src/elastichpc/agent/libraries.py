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
from collections.abc import Callable, Iterator
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

OWN = "elastichpc"  # shipped from the package this process imported (install.PACKAGE)


def required(extras: set[str]) -> list[metadata.Distribution]:
    """elastichpc's requirements with these extras, and theirs, each distribution once
    (a requirement the client has not installed is left to the head's check to name)."""
    done: dict[str, set[str]] = {}
    found: dict[str, metadata.Distribution] = {}
    todo = [(OWN, extras)]
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


def library_files(extras: set[str], keeps: Callable[[str], bool]) -> Iterator[tuple[str, Path]]:
    """(path under site-packages, file) of every file of those distributions that `keeps`
    accepts; no byte code (the head compiles its own) and nothing outside site-packages."""
    for dist in required(extras):
        for entry in dist.files or []:
            relative = entry.as_posix()
            if relative.startswith("../") or "__pycache__" in entry.parts or relative.endswith(".pyc"):
                continue
            path = Path(str(dist.locate_file(entry)))
            if path.is_file() and keeps(relative):
                yield relative, path

