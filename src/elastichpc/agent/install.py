"""The client's side of the head agent: upload and start it, call it, and copy back what it did.

The agent runs the client's own package: the files of the `elastichpc` package this process
imported are packed (with the scheduler scripts), so the head runs the same version even when the
client is an editable checkout the head cannot see, and a later change of that checkout does not
change a running agent. It runs with the client's interpreter path when the head has it (local
nodes share this machine's /usr and /root), else the head's python3 with the client's own
third-party libraries, the cluster's cloud SDKs among them (libraries.py). Before it is started
the head checks that it can import them and reach its providers (`ehpc-agent check`).
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import shlex
import sys
import tarfile
from collections.abc import Iterator
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from ..config.schema import SECTIONS
from ..errors import EhpcError
from ..orchestration.context import ClusterContext
from ..orchestration.progress import Progress
from ..providers import Provider
from ..state import NodeRow
from . import AGENT_DIR, LAUNCHER
from .libraries import library_files

PACKAGE = Path(__file__).resolve().parent.parent
CLIENT_PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
KEY_FILES = ("id_ed25519", "id_ed25519.pub", "munge.key", "hostkeys", "overlay", "overlay-psk")

# Runs on the head as root with the bundle on standard input. Replaces the package, credentials
# and seed, then (re)starts the agent under systemd (Restart=always) or a restart loop.
_INSTALL = r"""
set -euo pipefail
umask 077
D=$1 PY=$2 CLIENT_PYTHON=$3
command -v "$PY" >/dev/null 2>&1 || PY=python3
install -d -m 0700 "$D"
# No change of the cluster's nodes (a resize, a repair) runs on the files being replaced.
exec 9>"$D/membership.lock"
flock 9
rm -rf "$D/incoming"
install -d -m 0700 "$D/incoming"
tar -xz -C "$D/incoming"
rm -rf "$D/lib"
mv "$D/incoming/lib" "$D/lib"
mv -f "$D/incoming/credentials.json" "$D/credentials.json"
printf '#!/bin/sh\nexec env PYTHONPATH=%s %s -m elastichpc.agent "$@"\n' "$D/lib" "$PY" > "$D/ehpc-agent"
chmod 0700 "$D/ehpc-agent"
"$D/ehpc-agent" seed "$D/incoming"
rm -rf "$D/incoming"
"$D/ehpc-agent" check "$CLIENT_PYTHON"
exec 9>&-
if [ -d /run/systemd/system ]; then
  printf '%s\n' '[Unit]' 'Description=ElasticHPC head agent' '[Service]' \
    "ExecStart=$D/ehpc-agent run" 'Restart=always' 'RestartSec=1' '[Install]' \
    'WantedBy=multi-user.target' > /etc/systemd/system/ehpc-agent.service
  systemctl daemon-reload
  systemctl enable -q ehpc-agent
  systemctl restart ehpc-agent
else
  for f in supervisor.pid agent.pid; do
    [ -f "$D/$f" ] && kill "$(cat "$D/$f")" 2>/dev/null || true
  done
  printf 'while :; do "%s" run; sleep 2; done\n' "$D/ehpc-agent" > "$D/supervise.sh"
  setsid bash "$D/supervise.sh" </dev/null >>"$D/agent.log" 2>&1 &
  echo $! > "$D/supervisor.pid"
fi
"""


def _add(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o600) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), mode
    tar.addfile(info, io.BytesIO(data))


def bundle(context: ClusterContext) -> bytes:
    """The package (and the libraries it needs where the head lacks them), the keys, the seed
    (cluster row and nodes) and the credentials, as a compressed tar."""
    buffer = io.BytesIO()
    # Level 1: a cloud's libraries are 25-77 MB, mostly text, packed in 1-2 s; more effort
    # saves little more.
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as tar:
        for name, path in _lib_files(context):
            _add(tar, f"lib/{name}", path.read_bytes(), 0o644)
        for name in KEY_FILES:
            source = context.keys.directory / name
            for path in [source] if source.is_file() else sorted(source.glob("*")):
                _add(tar, f"keys/{path.relative_to(context.keys.directory)}", path.read_bytes())
        row = context.row
        seed = {"name": row.name, "provider": row.provider, "status": row.status, "spec": row.spec,
                "nodes": [asdict(n) for n in context.journal.nodes(row.name)],
                "runs": [asdict(r) for r in context.journal.runs(row.name)]}
        _add(tar, "seed.json", json.dumps(seed).encode())
        _add(tar, "credentials.json", json.dumps(credentials(context)).encode())
    return buffer.getvalue()


def _providers(context: ClusterContext) -> list[Provider]:
    return [context.fleet.provider(place.name) for place in context.fleet.places]


def _lib_files(context: ClusterContext) -> Iterator[tuple[str, Path]]:
    """elastichpc's files, then (for a head without the client's interpreter and packages)
    those of its libraries with each cloud provider's extra."""
    for path in sorted(PACKAGE.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            yield f"elastichpc/{path.relative_to(PACKAGE)}", path
    if context.provider.capabilities.shares_host_software:
        return
    providers = _providers(context)
    yield from library_files({p.name for p in providers},
                             lambda name: all(p.agent_keeps(name) for p in providers))


def credentials(context: ClusterContext) -> dict[str, Any]:
    """What the agent needs to call the cluster's providers: the head's provider's access (the
    local provider's control endpoint), the environment under which each cloud's SDK calls
    that cloud as this client does (credentials, region, endpoints), the client's files they
    name (a certificate, a CA bundle), and the secret settings this call was given."""
    settings = context.spec.settings
    secrets = [[section, key, value] for (section, key), value in settings.values.items()
               if SECTIONS[section][key].secret]
    environment: dict[str, str] = {}
    files: dict[tuple[str, str], bytes] = {}
    for provider in _providers(context):
        environment.update(provider.agent_environment())
        files.update(provider.agent_files())
    return {"access": context.provider.agent_access(context.name), "environment": environment,
            "secrets": secrets,
            "files": [[section, key, base64.b64encode(data).decode()]
                      for (section, key), data in files.items()]}


def install_agent(context: ClusterContext, progress: Progress) -> None:
    """Upload and start the agent. A cluster works without it (no resize, repair, autoscale):
    a head that cannot run it (e.g. a cloud image without the provider's SDK) is said, not fatal."""
    try:
        _upload(context, progress)
    except EhpcError as err:
        progress.note(f"the head agent did not start (no resize, spot repair or autoscaling): {err}")
        context.journal.event(context.name, "agent-failed", str(err))


def update_agent(context: ClusterContext, progress: Progress) -> None:
    """Install the agent again, with this client's version and the credentials it signs in
    with now (renewed ones; or where create said the agent did not start). What the agent did
    is kept: its node list and the keys it pinned come to the client first, and go back."""
    if context.row.status != "running":
        raise EhpcError(f"cluster {context.name} is {context.row.status}: the head agent runs on "
                        "a running cluster only")
    if has_agent(context):
        with progress.step("taking the head agent's node list"):
            sync_nodes(context)
            with contextlib.suppress(EhpcError):  # an agent older than the cost record has none
                sync_runs(context)
    _upload(context, progress)


def _upload(context: ClusterContext, progress: Progress) -> None:
    with progress.step("starting the head agent"):
        context.shell.run(context.head, ["bash", "-c", _INSTALL, "install", AGENT_DIR,
                                         sys.executable, CLIENT_PYTHON], input=bundle(context))
    context.journal.event(context.name, "agent", "head agent installed")


def call_agent(context: ClusterContext, argv: list[str], timeout: float | None = None,
               input: str | None = None) -> Any:
    """Run an agent command on the head (`input` on its standard input); its standard output
    is JSON."""
    result = context.shell.run(context.head, [LAUNCHER, *argv], check=False, timeout=timeout,
                               input=input)
    if result.returncode != 0:
        lines = (result.stderr or "").strip().splitlines()
        detail = lines[-1].removeprefix("ehpc-agent: error: ") if lines else f"exit {result.returncode}"
        if result.returncode == 127 or "No such file" in detail:
            detail = f"the cluster has no head agent (run `{shlex.join(argv)}` after it is installed)"
        raise EhpcError(detail)
    return json.loads(result.stdout or "null")


def stop_agent(context: ClusterContext, progress: Progress) -> None:
    """Stop the head agent before its cluster is removed: it would replace the nodes going away
    (a compute node gone while the head still runs is a lost node to it)."""
    if not has_agent(context):
        return
    try:
        with progress.step("stopping the head agent"):
            call_agent(context, ["stop"], timeout=60)
    except EhpcError as err:
        progress.note(f"the head agent was not stopped ({err}): terminating anyway")


def has_agent(context: ClusterContext) -> bool:
    """Whether create left an agent on the head (it may have changed the nodes since)."""
    return bool(context.journal.messages(context.name, "agent"))


def sync_nodes(context: ClusterContext) -> list[NodeRow]:
    """Take the agent's node list as the truth (it made the changes), with the host keys it
    pinned (a node it launched: read over the cluster's network, as create reads them, and
    handed over the head's verified connection) and the overlay keys its nodes made, and
    rewrite the SSH files."""
    from ..orchestration.membership import write_cluster_ssh

    listed = call_agent(context, ["nodes"])
    for node in listed:
        key = node.pop("host_key", "")  # (none from an agent an older client installed)
        if key:
            context.keys.pin_host_key(node["name"], key)
        overlay_key, shared = node.pop("overlay_key", ""), node.pop("overlay_psk", False)
        if overlay_key:
            context.keys.learn_overlay_key(node["name"], overlay_key, shared)
    rows = [NodeRow(**n) for n in listed]
    gone = [n.name for n in context.journal.nodes(context.name) if n.name not in {r.name for r in rows}]
    context.journal.remove_nodes(context.name, gone)
    context.journal.put_nodes(rows)
    # As create left them: this machine reaches an overlay's compute nodes through the head.
    write_cluster_ssh(context, [replace(r, address="", private_address=r.overlay_address)
                                if r.role != "head" and r.overlay_address else r for r in rows])
    return rows


def sync_runs(context: ClusterContext) -> list[str]:
    """Take the agent's record of what the machines cost (it saw the repairs and autoscaling
    the client did not), priced by the agent first; returns what the agent said of the budget."""
    from ..state.runs import Price, Run

    found = call_agent(context, ["runs"])
    context.journal.replace_runs(context.name, [Run(**run) for run in found["runs"]])
    context.journal.add_prices([Price(**price) for price in found["prices"]], replacing=True)
    return list(found.get("budget", []))
