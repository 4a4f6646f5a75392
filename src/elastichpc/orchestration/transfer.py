"""`ehpc cp`: files in and out of a cluster with real rsync over the cluster's own SSH
configuration (pinned host keys, ProxyJump through the head), the remote side run as the
cluster user.

Words are scp's: `NAME:PATH` is the head, `NAME/NODE:PATH` one node, anything else this
machine (so `./a:b` and `C:\\x` stay local). A relative cluster path starts in the user's home;
`NAME:JOBID/...` starts in the working directory of that job when ehpc submitted it.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, EhpcError
from ..state import Journal
from .context import ClusterContext, open_cluster
from .jobs import OWNER_RE
from .progress import Progress

_REMOTE_RE = re.compile(
    r"(?P<cluster>[a-z](?:[a-z0-9-]{0,30}[a-z0-9])?)(?:/(?P<node>[a-z0-9][a-z0-9-]*))?:(?P<path>.*)",
    re.S,
)
# An interrupted file waits here (in its destination directory) until a rerun completes it, so
# a half-sent file never sits under its own name.
PARTIAL_DIR = ".ehpc-partial"
# rsync's remote side starts in the user's home (sshd starts in the login user's), so relative
# paths are the user's; the server arguments rsync appends become "$@".
_IN_HOME = ["sh", "-c", 'cd && exec rsync "$@"', "rsync"]
_PROGRESS_RE = re.compile(r"^\s*[\d,]+\s+\d+%")
_FAILED_RE = re.compile(r'^rsync: \[(\w+)\] ([\w#]+) "(.+)" failed: (.+?)(?: \(\d+\))?$')
# rsync's own words after the cause (the remote side gone, its exit code) and its --stats.
_NOT_THE_CAUSE_RE = re.compile(
    r"^(rsync error:|rsync: connection unexpectedly closed|rsync: \[\w+\] write error|"
    r"Number of |Total |Literal data|Matched data|File list|sent \d|total size is)"
)


@dataclass(frozen=True)
class Endpoint:
    path: str
    cluster: str = ""  # "" = this machine
    node: str = ""  # as written after NAME/ ("" = the head)

    @property
    def remote(self) -> bool:
        return bool(self.cluster)


@dataclass(frozen=True)
class CopySummary:
    files_transferred: int
    bytes_sent: int
    bytes_received: int
    total_size: int
    seconds: float
    sources: list[str]
    destination: str


def parse_endpoint(word: str) -> Endpoint:
    """One word of the command line: a cluster side or a local path (scp's rule: a `/`
    before the `:` other than NAME/NODE's own makes it a local path)."""
    if not word:
        raise ConfigError("an empty path")
    match = _REMOTE_RE.fullmatch(word)
    if match is None:
        return Endpoint(word)
    return Endpoint(match["path"], match["cluster"], match["node"] or "")


def plan_copy(sources: list[str], destination: str) -> tuple[list[Endpoint], Endpoint]:
    """The parsed words, checked: exactly one side on one cluster node."""
    if not sources:
        raise ConfigError("nothing to copy: give SRC... DST")
    srcs = [parse_endpoint(word) for word in sources]
    dst = parse_endpoint(destination)
    remote = {(e.cluster, e.node) for e in srcs if e.remote}
    if remote and not all(e.remote for e in srcs):
        raise ConfigError("sources must be all local or all on one cluster node, not both")
    if len(remote) > 1:
        raise ConfigError("sources on different clusters or nodes: copy from one at a time")
    if remote and dst.remote:
        raise ConfigError("both sides are on a cluster: one side must be this machine")
    if not remote and not dst.remote:
        raise ConfigError(f"both sides are on this machine: write the cluster side as NAME:PATH "
                          f"(e.g. demo:{Path(destination).name or 'data'})")
    return srcs, dst


def cluster_path(path: str, job_workdir: Callable[[str], str | None]) -> str:
    """`JOBID/rest` -> the job's working directory + rest when that job is known; every other
    path as given (a relative one is then the user's home's)."""
    first, slash, rest = path.partition("/")
    if first.isdigit():
        workdir = job_workdir(first)
        if workdir:
            return workdir.rstrip("/") + (f"/{rest}" if slash else "")
    return path


def copy_files(
    sources: list[str],
    destination: str,
    *,
    recursive: bool = False,
    user: str | None = None,
    bwlimit: int | None = None,
    progress: Progress | None = None,
    journal: Journal | None = None,
) -> CopySummary:
    """Copy `sources` to `destination` (scp's words) and say what rsync did. Only changed files
    are sent again, and a rerun finishes an interrupted one. `user` (default the cluster user)
    owns what is written on the cluster; `bwlimit` caps the rate in KiB/s."""
    srcs, dst = plan_copy(sources, destination)
    remote = dst if dst.remote else srcs[0]
    for src in srcs if dst.remote else []:  # before connecting
        _check_local_source(src.path, recursive)
    context = open_cluster(remote.cluster, journal)
    node = context.node_named(remote.node) if remote.node else context.head
    user = user or context.spec.cluster_user
    if not OWNER_RE.match(user):
        raise ConfigError(f"--user {user!r} is not a user name (e.g. ehpcuser, root)")

    def workdir(job_id: str) -> str | None:
        row = context.journal.get_job(context.name, job_id)
        return str(row.info["workdir"]) if row and row.info.get("workdir") else None

    def word(end: Endpoint) -> str:
        return f"{node}:{cluster_path(end.path, workdir)}" if end.remote else end.path

    argv = _rsync_argv(context, node, user, recursive, bwlimit, progress is not None)
    argv += ["--", *(word(s) for s in srcs), word(dst)]
    start = time.monotonic()
    progress = progress or Progress()
    with progress.step(f"copying {'to' if dst.remote else 'from'} {node}"):
        code, lines = _run(argv, progress)
    seconds = round(time.monotonic() - start, 3)
    skipped = [line for line in lines if line.startswith("skipping directory ")]
    if code != 0 or skipped:
        raise EhpcError(_failure(code, lines, skipped, node, pushing=dst.remote))
    stats = _stats(lines)
    return CopySummary(stats.get("Number of regular files transferred", 0),
                       stats.get("Total bytes sent", 0), stats.get("Total bytes received", 0),
                       stats.get("Total file size", 0), seconds, list(sources), destination)


def _check_local_source(path: str, recursive: bool) -> None:
    if not os.path.lexists(path):
        raise EhpcError(f"{path}: no such file or directory")
    if os.path.isdir(path) and not recursive:
        raise EhpcError(f"{path} is a directory: use -r to copy it")


def _rsync_argv(context: ClusterContext, node: str, user: str, recursive: bool,
                bwlimit: int | None, show: bool) -> list[str]:
    # -lptD: links, permissions, times (the quick check needs them), devices; no owner or
    # group: what is written belongs to whoever writes it, as with scp.
    return [
        "rsync", "-lptD" + ("r" if recursive else ""), f"--partial-dir={PARTIAL_DIR}", "--stats",
        "-e", shlex.join(context.shell.transport()),
        "--rsync-path", shlex.join(context.shell.remote_argv(node, _IN_HOME, user)),
        *([f"--bwlimit={bwlimit}"] if bwlimit else []),
        *(["--info=progress2"] if show else []),
    ]


def _run(argv: list[str], progress: Progress) -> tuple[int, list[str]]:
    """rsync's exit code and output lines; its progress lines go to `progress` as they come."""
    lines: list[str] = []
    pending = b""
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          stdin=subprocess.DEVNULL) as proc:
        assert proc.stdout is not None
        while chunk := os.read(proc.stdout.fileno(), 65536):
            *done, pending = re.split(rb"[\r\n]", pending + chunk)
            for raw in done:
                line = raw.decode(errors="replace")
                if _PROGRESS_RE.match(line):
                    progress.detail(" ".join(line.split()))
                elif line.strip():
                    lines.append(line)
        if pending.strip():
            lines.append(pending.decode(errors="replace"))
    return proc.returncode, lines


def _failure(code: int, lines: list[str], skipped: list[str], node: str, pushing: bool) -> str:
    """rsync's first complaint as one line naming the path (and which side it is on)."""
    if skipped:
        return f"{node}:{skipped[0].removeprefix('skipping directory ')} is a directory: use -r"
    for line in lines:
        match = _FAILED_RE.match(line)
        if match:
            role, call, path, reason = match.groups()
            if call == "mkstemp":  # the temporary file's directory is the one refused
                path = os.path.dirname(path) or "."
            on_cluster = role.lower() in (("receiver", "generator") if pushing else ("sender",))
            return f"{node + ':' if on_cluster else ''}{path}: {reason}"
    said = [line for line in lines if not _NOT_THE_CAUSE_RE.match(line)]
    detail = (said or lines or [f"exit code {code}"])[0].removeprefix("rsync: ")
    return f"copy to or from {node} failed: {detail}"


def _stats(lines: list[str]) -> dict[str, int]:
    """rsync --stats: 'Total bytes sent: 1,234' -> {'Total bytes sent': 1234}."""
    found = {}
    for line in lines:
        key, sep, value = line.partition(": ")
        number = value.split(" ")[0].replace(",", "") if sep else ""
        if number.isdigit():
            found[key.strip()] = int(number)
    return found
