"""The local provider's control endpoint: the "cloud API" a local cluster's head agent calls.

A cloud agent reaches its cloud through an authenticated API; a local cluster's agent reaches
this machine the same way, never by entering the host's namespaces. One small HTTP server per
cluster runs on the host, bound to the cluster's bridge address (only that cluster's nodes are on
that segment), and answers only requests that carry the cluster's token and come from the
cluster's own subnet. It can list, launch and remove nodes of that cluster and nothing else.

`ensure_server` starts it (`serve`) as a process of its own; `ControlClient` (in the agent) is
the Provider that calls it.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import os
import pwd
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from contextlib import suppress
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ...config import ClusterSpec, Settings
from ...errors import EhpcError, ProviderError
from ..base import Machine, NodePlan, Provider, Report, no_report
from .files import read_json, share_dir

PORT = 8739
SERVE = "import sys; from elastichpc.providers.local.control import serve; serve(sys.argv[1])"
TERMINATE = ("import sys; from elastichpc.providers.local.control import terminate_cluster; "
             "terminate_cluster(sys.argv[1])")
RECORD = "control.json"  # under ROOT_DIR/<cluster>/: address, port, token, pid (mode 0600)


# ---- the host side ---------------------------------------------------------------------------
def record_path(cluster_dir: Path) -> Path:
    return cluster_dir / RECORD


def _cmdline(pid: int) -> list[bytes]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as raw:
            return raw.read().split(b"\0")[:-1]
    except OSError:
        return []


def _alive(pid: int) -> bool:
    return SERVE.encode() in _cmdline(pid)


def server_pids(cluster_dir: Path) -> list[int]:
    """Every endpoint process serving `cluster_dir`, found by its command line (a process's
    "tag"): a create killed between starting the server and recording its pid leaves one that
    no record names."""
    wanted = [SERVE.encode(), str(cluster_dir).encode()]
    return [int(entry.name) for entry in Path("/proc").iterdir()
            if entry.name.isdigit() and _cmdline(int(entry.name))[-2:] == wanted]


# Nodes may open no connection to the host except to their own cluster's endpoint: this port on
# the address of the bridge they arrive on. The host firewall (hostfw.py) carries this rule.
FIREWALL_RULE = f'iifname "ehbr*" tcp dport {PORT} fib daddr . iif type local accept comment "ehpc-control"'


def ensure_server(cluster_dir: Path, spec: ClusterSpec, subnet: int) -> dict:
    """Start the cluster's endpoint on its head's network (10.201.<subnet>.0/24) unless it runs;
    return its record (address, port, token)."""
    path = record_path(cluster_dir)
    record = read_json(path)
    running = server_pids(cluster_dir)
    if running and record.get("token"):  # the record is written before the server starts
        record["pid"] = running[0]
        return record
    record = {"address": f"10.201.{subnet}.1", "port": PORT, "subnet": f"10.201.{subnet}.0/24",
              "token": record.get("token") or secrets.token_urlsafe(32), "spec": spec.to_public()}
    _write_private(path, record)
    log = open(cluster_dir / "control.log", "ab")  # noqa: SIM115 (handed to the child)
    package_parent = str(Path(__file__).resolve().parents[3])  # .../src
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (package_parent, os.environ.get("PYTHONPATH", "")) if p)}
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(cluster_dir)],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env, start_new_session=True,
    )
    log.close()
    record["pid"] = proc.pid
    _write_private(path, record)
    _wait_listening(record, proc)
    return record


def _wait_listening(record: dict, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ProviderError(f"the cluster's control endpoint exited (code {proc.returncode})")
        with suppress(OSError):
            urllib.request.urlopen(f"http://{record['address']}:{record['port']}/health", timeout=1)
            return
        time.sleep(0.1)
    raise ProviderError("the cluster's control endpoint did not start listening")


def stop_server(cluster_dir: Path) -> bool:
    pids = server_pids(cluster_dir)
    for pid in pids:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while (left := [pid for pid in pids if _alive(pid)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in left:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return bool(pids)


def _write_private(path: Path, record: dict) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(record, out)
    tmp.replace(path)


def app(cluster_dir: Path) -> Any:
    """The Starlette app serving one cluster (a separate process per cluster)."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from .provider import LocalProvider

    record = read_json(record_path(cluster_dir))
    token, subnet = record["token"].encode(), ipaddress.ip_network(record["subnet"])
    spec = ClusterSpec.from_public(record["spec"])
    cluster = spec.name
    provider = LocalProvider(spec.settings)

    def at(place: str) -> ClusterSpec:
        """The spec as the local site of pool `place` sees it."""
        return spec.at(spec.pool(place))
    lock = threading.Lock()  # one launch or removal at a time for this cluster

    def allowed(request: Request) -> bool:
        given = request.headers.get("authorization", "").removeprefix("Bearer ").encode()
        client = request.client.host if request.client else ""
        try:
            inside = ipaddress.ip_address(client) in subnet
        except ValueError:
            inside = False
        return inside and hmac.compare_digest(given, token)

    def guarded(handler: Any) -> Any:
        async def endpoint(request: Request) -> JSONResponse:
            if not allowed(request):
                return JSONResponse({"error": "not authorized"}, status_code=403)
            body = await request.json() if request.method == "POST" else {}
            from starlette.concurrency import run_in_threadpool

            try:
                return JSONResponse(await run_in_threadpool(handler, body))
            except EhpcError as err:
                return JSONResponse({"error": str(err)}, status_code=409)

        return endpoint

    def own_compute_names(names: list[str]) -> list[str]:
        bad = [n for n in names if not isinstance(n, str) or not n.startswith(f"{cluster}-")
               or n == f"{cluster}-head"]
        if bad:
            raise EhpcError(f"not compute nodes of {cluster}: {', '.join(map(str, bad))}")
        return names

    def machines(_: dict) -> list[dict]:
        return [asdict(m) for m in provider.machines(cluster)]

    def launch(body: dict) -> list[dict]:
        plans = [NodePlan(**p) for p in body["plans"]]
        own_compute_names([p.name for p in plans])
        places = {p.pool for p in plans}
        if len(places) != 1:
            raise EhpcError("one launch call is for one pool")
        site = at(places.pop())
        for plan in plans:
            plan.role = "compute"
        with lock:
            machines = LocalProvider(site.settings).launch(site, plans, no_report)
            return [asdict(m) for m in machines]

    def remove(body: dict) -> list[str]:
        with lock:
            return provider.terminate_nodes(cluster, own_compute_names(body["names"]), no_report)

    def terminate(_: dict) -> list[str]:
        # In a process of its own: terminating the cluster stops this endpoint too.
        subprocess.Popen([sys.executable, "-c", TERMINATE, str(cluster_dir)], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        return [f"cluster {cluster}"]

    async def health(_: Request) -> JSONResponse:
        return JSONResponse({"cluster": cluster})

    return Starlette(routes=[
        Route("/health", health),
        Route("/machines", guarded(machines)),
        Route("/launch", guarded(launch), methods=["POST"]),
        Route("/remove", guarded(remove), methods=["POST"]),
        Route("/terminate", guarded(terminate), methods=["POST"]),
    ])


def terminate_cluster(cluster_dir: str) -> None:
    """Everything of the cluster, as `ehpc cluster terminate` removes it from the host."""
    from .provider import LocalProvider

    spec = ClusterSpec.from_public(read_json(record_path(Path(cluster_dir)))["spec"])
    LocalProvider(spec.settings).terminate(spec.name, no_report)


def serve(cluster_dir: str) -> None:
    import uvicorn

    record = read_json(record_path(Path(cluster_dir)))
    uvicorn.run(app(Path(cluster_dir)), host=record["address"], port=int(record["port"]),
                log_level="warning", access_log=False)


# ---- the agent side --------------------------------------------------------------------------
class ControlClient(Provider):
    """The local provider as the head agent sees it: the cluster's control endpoint."""

    name = "local"

    def __init__(self, settings: Settings, url: str, token: str) -> None:
        super().__init__(settings)
        self.url = url.rstrip("/")
        self._token = token

    def _call(self, path: str, body: dict | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path, data=data, method="GET" if body is None else "POST",
            headers={"Authorization": f"Bearer {self._token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=300) as answer:
                return json.loads(answer.read())
        except urllib.error.HTTPError as err:
            detail = json.loads(err.read() or b"{}").get("error", err.reason)
            raise ProviderError(f"control endpoint: {detail}") from None
        except OSError as err:
            raise ProviderError(f"control endpoint unreachable: {err}") from None

    def check_ready(self, spec: ClusterSpec | None = None) -> None:
        self._call("/machines")

    def cluster_uid(self, cluster: str) -> int:
        """The agent runs on the head, where the cluster user already has its (per-cluster) uid."""
        return pwd.getpwnam(self.settings.get("CLUSTER", "CLUSTER_USER")).pw_uid

    def launch(self, spec: ClusterSpec, plans: list[NodePlan], report: Report) -> list[Machine]:
        found = self._call("/launch", {"plans": [asdict(p) for p in plans]})
        return [Machine(**m) for m in found]

    def machines(self, cluster: str) -> list[Machine]:
        return [Machine(**m) for m in self._call("/machines")]

    def terminate_nodes(self, cluster: str, names: list[str], report: Report = no_report) -> list[str]:
        removed: list[str] = self._call("/remove", {"names": names})
        return removed

    def fallback_share_dir(self, cluster: str, key: str) -> str:
        """The same host directory the host-side provider names (nodes see the host's files)."""
        return share_dir(Path(self.settings.get("LOCAL", "ROOT_DIR")), cluster, key)

    def terminate(self, cluster: str, report: Report) -> list[str]:
        """The whole cluster, this head with it (idle stop --down)."""
        removed: list[str] = self._call("/terminate", {})
        return removed
