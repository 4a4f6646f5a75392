"""The HTTP side: Compute Engine routes under /compute/v1/, the Cloud Billing Catalog's
`services.skus.list` under /v1/ (billing.py; cloudbilling.googleapis.com, asked at the same
address when ehpc's compute endpoint is not Google's), an OAuth token endpoint, and the
emulator's own control routes under /_emulator/ (faults, latency, quota, preemption,
serial console output, counters).

The /compute/v1/ routes stand for the real API (and are checked against its discovery
document; their requests are in `log`), as /v1/ stands for the catalog's (its requests are in
`catalog_log`, apart); /token stands for oauth2.googleapis.com/token, where stored user
credentials really refresh their token; service accounts registered with the emulator (as IAM
knows their keys) may instead send self-signed JWTs, whose signature is checked. Anonymous
requests are allowed, as emulators do; any other credential is refused with 401. /_emulator/
exists only here.
"""

from __future__ import annotations

import base64
import json
import random
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from . import billing, instances, routes
from .resources import ApiError, ComputeState

PREFIX = "/compute/v1/"


@dataclass
class Fault:
    status: int  # 429, 403, 503...
    reason: str  # rateLimitExceeded, quotaExceeded, backendError...
    message: str
    count: int  # how many matching requests fail
    match: str = ""  # substring of the discovery method id, e.g. "instances.bulkInsert"


@dataclass
class Recorded:
    method_id: str
    http_method: str
    path: str
    query: dict[str, str]
    status: int
    body: dict[str, Any] = field(repr=False)  # the answer
    request: dict[str, Any] = field(repr=False, default_factory=dict)  # the request's JSON body


class Emulator:
    """State plus the knobs tests turn. Thread-safe: one lock around every request."""

    def __init__(self) -> None:
        self.state = ComputeState()
        self.faults: list[Fault] = []
        self.latency = 0.0
        self.chaos_rate = 0.0  # each request: an error with this probability (set_chaos)
        self.chaos_latency = 0.0
        self.random = random.Random(0)
        self.log: list[Recorded] = []  # Compute Engine requests
        self.catalog_log: list[Recorded] = []  # Cloud Billing Catalog requests
        self.tokens: dict[str, str] = {}  # access token -> grant type that got it
        self.service_accounts: dict[str, Any] = {}  # email -> public key (what IAM knows)
        self.callers: list[str] = []  # who each authenticated request came from

    # ---- knobs ----------------------------------------------------------------------------------
    def inject(self, status: int, reason: str, count: int = 1, match: str = "", message: str = "") -> None:
        with self.state.lock:
            self.faults.append(Fault(status, reason, message or _MESSAGES.get(reason, reason), count, match))

    def set_chaos(self, rate: float, seconds: float = 0.0, seed: int = 0) -> None:
        """Each request fails (429 rateLimitExceeded or 503 backendError, half each) with
        probability `rate`; of the others, about as many again wait `seconds` first."""
        with self.state.lock:
            self.chaos_rate, self.chaos_latency, self.random = rate, seconds, random.Random(seed)

    def _chaos(self) -> tuple[Fault | None, float]:
        with self.state.lock:
            draw = self.random.random() if self.chaos_rate else 1.0
        if draw < self.chaos_rate / 2:
            return Fault(429, "rateLimitExceeded", _MESSAGES["rateLimitExceeded"], 1, ""), 0.0
        if draw < self.chaos_rate:
            return Fault(503, "backendError", _MESSAGES["backendError"], 1, ""), 0.0
        return None, self.chaos_latency if draw < 2 * self.chaos_rate else 0.0

    def set_latency(self, seconds: float) -> None:
        self.latency = seconds

    def set_operation_delay(self, seconds: float) -> None:
        self.state.operation_delay = seconds

    def set_cpu_quota(self, region: str, limit: float | None) -> None:
        with self.state.lock:
            if limit is None:
                self.state.cpu_quota.pop(region, None)
            else:
                self.state.cpu_quota[region] = limit

    def preempt(self, project: str, zone: str, instance: str) -> None:
        with self.state.lock:
            instances.preempt(self.state, project, zone, instance)

    def print_serial(self, project: str, zone: str, instance: str, text: str) -> None:
        """What the instance's machine printed on its serial console (appended)."""
        with self.state.lock:
            instances.find(self.state, {"project": project, "zone": zone, "instance": instance})
            key = (project, zone, instance)
            self.state.serial[key] = self.state.serial.get(key, "") + text

    def register_service_account(self, email: str, public_key_pem: bytes) -> None:
        self.service_accounts[email] = serialization.load_pem_public_key(public_key_pem)

    def _caller(self, authorization: str) -> str:
        """Who sent a request: "" when anonymous; a 401 when the credential does not hold."""
        token = authorization.removeprefix("Bearer ")
        if not token:
            return ""
        if token in self.tokens:
            return f"token from {self.tokens[token]}"
        claims = self._self_signed(token)
        if claims is None:
            raise ApiError(401, "authError", "Request had invalid authentication credentials.")
        return f"self-signed JWT of {claims['iss']}"

    def _self_signed(self, token: str) -> dict[str, Any] | None:
        """The claims of a JWT a registered service account signed (RS256), unexpired."""
        try:
            header, payload, signature = (base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
                                          for part in token.split("."))
            claims = json.loads(payload)
            key = self.service_accounts[claims["iss"]]
            signed = token.rsplit(".", 1)[0].encode()
            key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
        except (ValueError, KeyError, InvalidSignature):
            return None
        fresh = claims.get("sub") == claims["iss"] and claims.get("exp", 0) > time.time()
        return claims if json.loads(header).get("alg") == "RS256" and fresh else None

    def requests(self, match: str = "") -> list[Recorded]:
        with self.state.lock:
            return [r for r in self.log if match in r.method_id]

    def catalog_requests(self) -> list[Recorded]:
        with self.state.lock:
            return list(self.catalog_log)

    def clear_log(self) -> None:
        with self.state.lock:
            self.log.clear()
            self.catalog_log.clear()

    def labelled(self, key: str, value: str) -> list[str]:
        """Self links of every labelled resource (instances, disks, snapshots) with key=value."""
        with self.state.lock:
            pools = [self.state.instances, self.state.disks, self.state.snapshots]
            return sorted(r["selfLink"] for pool in pools for r in pool.values()
                          if r.get("labels", {}).get(key) == value)

    # ---- requests -------------------------------------------------------------------------------
    def _fault_for(self, method_id: str) -> Fault | None:
        for fault in self.faults:
            if fault.match in method_id and fault.count > 0:
                fault.count -= 1
                return fault
        return None

    def compute(self, http_method: str, path: str, query: dict[str, str], body: dict[str, Any],
                authorization: str) -> tuple[int, dict[str, Any]]:
        if self.latency:
            time.sleep(self.latency)
        chaos, wait = self._chaos()
        time.sleep(wait)
        method_id = "unknown"
        with self.state.lock:
            try:
                self.callers.append(self._caller(authorization))
                route, params = routes.match(http_method, path)
                method_id = route.method_id
                if fault := chaos or self._fault_for(method_id):
                    raise ApiError(fault.status, fault.reason, fault.message)
                status, answer = 200, route.handler(self.state, params, query, body)
            except ApiError as err:
                status, answer = err.code, err.body()
            self.log.append(Recorded(method_id, http_method, path, query, status, answer, body))
        return status, answer

    def catalog(self, http_method: str, path: str, query: dict[str, str],
                authorization: str) -> tuple[int, dict[str, Any]]:
        """The Cloud Billing Catalog: authenticated as the compute routes are; a fault reaches
        it only when its `match` names it (e.g. "cloudbilling"), never a fault for any call."""
        if self.latency:
            time.sleep(self.latency)
        method_id = "unknown"
        with self.state.lock:
            try:
                try:
                    self.callers.append(self._caller(authorization))
                except ApiError as err:
                    raise billing.refusal(err.code, err.message) from None
                service = billing.service_of(http_method, path)
                method_id = billing.METHOD_ID
                fault = next((f for f in self.faults
                              if f.match and f.match in method_id and f.count > 0), None)
                if fault:
                    fault.count -= 1
                    raise billing.refusal(fault.status, fault.message)
                status, answer = 200, billing.list_skus(service, query)
            except billing.CatalogError as err:
                status, answer = err.code, err.body()
            self.catalog_log.append(Recorded(method_id, http_method, path, query, status, answer))
        return status, answer

    def issue_token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        grant = form.get("grant_type", "")
        complete = {
            "urn:ietf:params:oauth:grant-type:jwt-bearer": bool(form.get("assertion")),
            "refresh_token": all(form.get(k) for k in ("refresh_token", "client_id", "client_secret")),
        }
        if not complete.get(grant):
            return 400, {"error": "invalid_grant", "error_description": "incomplete token request"}
        token = "emulator-" + secrets.token_hex(16)
        with self.state.lock:
            self.tokens[token] = grant
        return 200, {"access_token": token, "expires_in": 3600, "token_type": "Bearer"}

    def control(self, action: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """POST /_emulator/<action> with a JSON body; GET /_emulator/requests."""
        try:
            if action == "faults":
                self.inject(int(body["status"]), body["reason"], int(body.get("count", 1)),
                            body.get("match", ""), body.get("message", ""))
            elif action == "latency":
                self.set_latency(float(body["seconds"]))
            elif action == "operation-delay":
                self.set_operation_delay(float(body["seconds"]))
            elif action == "quota":
                self.set_cpu_quota(body["region"], body.get("cpus"))
            elif action == "preempt":
                self.preempt(body["project"], body["zone"], body["instance"])
            elif action == "serial":
                self.print_serial(body["project"], body["zone"], body["instance"], body["text"])
            elif action == "requests":
                return 200, {"count": len(self.log), "requests": [
                    {"method": r.method_id, "status": r.status} for r in self.requests()],
                    "catalog_requests": [{"method": r.method_id, "status": r.status}
                                         for r in self.catalog_requests()]}
            else:
                return 404, {"error": f"no control action {action!r}"}
        except (KeyError, ValueError, ApiError) as err:
            return 400, {"error": str(err)}
        return 200, {"ok": True}


_MESSAGES = {
    "rateLimitExceeded": "Rate Limit Exceeded",
    "quotaExceeded": "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute'",
    "backendError": "Internal error. Please try again or contact Google Support.",
}


def make_handler(emulator: Emulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _answer(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _handle(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if url.path.startswith(PREFIX):
                try:
                    body = json.loads(raw) if raw else {}
                except ValueError:
                    self._answer(400, ApiError(400, "parseError", "Parse Error").body())
                    return
                self._answer(*emulator.compute(self.command, url.path[len(PREFIX):], query, body,
                                               self.headers.get("Authorization", "")))
            elif url.path.startswith("/v1/"):
                self._answer(*emulator.catalog(self.command, url.path, query,
                                               self.headers.get("Authorization", "")))
            elif url.path == "/token" and self.command == "POST":
                form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                self._answer(*emulator.issue_token(form))
            elif url.path.startswith("/_emulator/"):
                self._answer(*emulator.control(url.path.removeprefix("/_emulator/"),
                                               json.loads(raw) if raw else {}))
            else:
                self._answer(404, ApiError(404, "notFound", f"{url.path} is not served").body())

        do_GET = do_POST = do_DELETE = do_PATCH = _handle

    return Handler


class EmulatorServer:
    """Runs an Emulator on `host` (default 127.0.0.1) in a background thread."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1") -> None:
        self.emulator = Emulator()
        self.httpd = ThreadingHTTPServer((host, port), make_handler(self.emulator))
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="gce-emulator", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> EmulatorServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)
