"""A reverse proxy on loopback between boto3 and moto_server that injects faults.

It forwards every request unchanged, except that it can be told to answer the next N calls
(optionally only of one EC2 action) with EC2's throttling error, and to add latency to every
call. It counts calls by action (`faults.calls`) and itself answers the Price List and EC2
Service Quotas calls that moto lacks (aws_missing_services.py). Tests drive it through
`FaultProxy` or over HTTP:

    POST /__proxy/fail?count=3&action=RunInstances   the next 3 RunInstances calls: 503
    POST /__proxy/delay?seconds=0.2[&action=X]       every call (of X) waits 0.2 s first
    POST /__proxy/reset                              back to a plain proxy
    POST /__proxy/chaos?rate=0.2&seconds=0.3&seed=1  each call: throttled or a 500 with
                                                     probability rate, else maybe delayed
    python -m tests.emulators.aws_fault_proxy --port 5001 --upstream http://127.0.0.1:5000
"""

from __future__ import annotations

import argparse
import collections
import http.client
import json
import random
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from . import aws_missing_services

THROTTLED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>RequestLimitExceeded'
    b"</Code><Message>Request limit exceeded.</Message></Error></Errors>"
    b"<RequestID>00000000-0000-0000-0000-000000000000</RequestID></Response>"
)
INTERNAL = THROTTLED.replace(b"RequestLimitExceeded", b"InternalError").replace(
    b"Request limit exceeded.", b"An internal error has occurred.")
HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


class Faults:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.released = threading.Event()  # set: delayed calls go on at once (reset, delay 0)
        self.reset()

    def reset(self) -> None:
        self.released.set()
        with self.lock:
            self.fail_left = 0
            self.fail_action = ""
            self.delay = 0.0
            self.delay_action = ""
            self.failed = 0
            self.calls: collections.Counter[str] = collections.Counter()
            self.chaos_rate = 0.0
            self.chaos_delay = 0.0
            self.random = random.Random(0)

    def chaos(self) -> tuple[bytes | None, float]:
        """For a call under chaos: (an error answer or None, seconds to wait first)."""
        with self.lock:
            if not self.chaos_rate:
                return None, 0.0
            draw = self.random.random()
            if draw < self.chaos_rate:
                self.failed += 1
                return (THROTTLED if draw < self.chaos_rate / 2 else INTERNAL), 0.0
            return None, self.chaos_delay if draw < 2 * self.chaos_rate else 0.0

    def pause_for(self, action: str) -> float:
        with self.lock:
            self.calls[action] += 1
            return self.delay if not self.delay_action or self.delay_action == action else 0.0

    def should_fail(self, action: str) -> bool:
        with self.lock:
            if self.fail_left and (not self.fail_action or self.fail_action == action):
                self.fail_left -= 1
                self.failed += 1
                return True
            return False


def action_of(body: bytes) -> str:
    return urllib.parse.parse_qs(body.decode(errors="replace")).get("Action", [""])[0]


def make_handler(upstream: urllib.parse.SplitResult, faults: Faults) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _answer_json(self, handler: Any, body: bytes) -> None:
            try:
                status, answer = 200, handler(json.loads(body or b"{}"))
            except KeyError:
                status, answer = 400, {"__type": "NoSuchResourceException",
                                       "message": "The request failed because the specified "
                                                  "service quota does not exist."}
            self._reply(status, json.dumps(answer).encode(),
                        {"Content-Type": "application/x-amz-json-1.1"})

        def _control(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            query = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
            command = url.path.rsplit("/", 1)[1]
            with faults.lock:
                if command == "fail":
                    faults.fail_left = int(query.get("count", "1"))
                    faults.fail_action = query.get("action", "")
                elif command == "chaos":
                    faults.chaos_rate = float(query.get("rate", "0"))
                    faults.chaos_delay = float(query.get("seconds", "0"))
                    faults.random = random.Random(int(query.get("seed", "0")))
                elif command == "delay":
                    faults.delay = float(query.get("seconds", "0"))
                    faults.delay_action = query.get("action", "")
                    (faults.released.clear if faults.delay else faults.released.set)()
            if command == "reset":
                faults.reset()
            self._reply(200, f"failed={faults.failed}\n".encode(), {"Content-Type": "text/plain"})

        def _forward(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path.startswith("/__proxy/"):
                self._control()
                return
            target = self.headers.get("X-Amz-Target", "")  # the JSON protocols' action
            action = target.rsplit(".", 1)[-1] if target else action_of(body)
            faults.released.wait(faults.pause_for(action))
            if faults.should_fail(action):
                self._reply(503, THROTTLED, {"Content-Type": "text/xml"})
                return
            error, wait = faults.chaos()
            if error is not None:
                self._reply(503 if error is THROTTLED else 500, error, {"Content-Type": "text/xml"})
                return
            time.sleep(wait)
            handler = aws_missing_services.TARGETS.get(target)
            if handler is not None:  # what moto does not have: answered here
                self._answer_json(handler, body)
                return
            connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=120)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
            headers["Host"] = upstream.netloc
            connection.request(self.command, self.path, body=body, headers=headers)
            answer = connection.getresponse()
            data = answer.read()
            connection.close()
            kept = {k: v for k, v in answer.getheaders() if k.lower() not in HOP_HEADERS}
            self._reply(answer.status, data, kept)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

    return Handler


class FaultProxy:
    """The proxy in a background thread: `FaultProxy(upstream).start()` -> its URL."""

    def __init__(self, upstream: str, port: int = 0) -> None:
        self.faults = Faults()
        handler = make_handler(urllib.parse.urlsplit(upstream), self.faults)
        self.server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> str:
        self.thread.start()
        return self.url

    def stop(self) -> None:
        self.faults.released.set()
        self.server.shutdown()
        self.server.server_close()

    def fail_next(self, count: int, action: str = "") -> None:
        with self.faults.lock:
            self.faults.fail_left, self.faults.fail_action = count, action

    def set_chaos(self, rate: float, seconds: float = 0.0, seed: int = 0) -> None:
        """Each call fails (throttled or 500, half each) with probability `rate`; of the others,
        about as many again wait `seconds` first."""
        with self.faults.lock:
            self.faults.chaos_rate, self.faults.chaos_delay = rate, seconds
            self.faults.random = random.Random(seed)

    def set_delay(self, seconds: float, action: str = "") -> None:
        with self.faults.lock:
            self.faults.delay, self.faults.delay_action = seconds, action
        (self.faults.released.clear if seconds else self.faults.released.set)()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="moto_server URL, e.g. http://127.0.0.1:5000")
    args = parser.parse_args()
    proxy = FaultProxy(args.upstream, args.port)
    print(f"fault proxy on {proxy.url} -> {args.upstream}", flush=True)
    proxy.server.serve_forever()


if __name__ == "__main__":
    main()
