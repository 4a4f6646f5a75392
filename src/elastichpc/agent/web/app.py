"""The Starlette application: the API, the pages, who may call what, and the server thread."""

from __future__ import annotations

import secrets
import sys
import threading
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ...errors import EhpcError
from . import PORT, api, pages
from .auth import COOKIE, Gate, dashboard_host
from .cluster import Cluster

Endpoint = Callable[[Request], Awaitable[Response]]
LOGIN_CSRF = "ehpc_login_csrf"


def guarded(gate: Gate, endpoint: Endpoint, is_api: bool) -> Endpoint:
    """The endpoint behind the gate. API: a grant's bearer token, or the browser's session (a
    POST then also carries the session's CSRF token in X-CSRF-Token). Pages: the session (a
    POST's form carries the CSRF token, checked in pages.form_of). A POST (submit, cancel,
    drain) and the submit form want the operator role. Errors of the caller's input: 400."""

    async def call(request: Request) -> Response:
        caller = gate.caller(request)
        if caller is None:
            if is_api:
                return JSONResponse({"error": "a valid API token is needed"}, status_code=401)
            if request.method == "GET":
                return RedirectResponse("/login", status_code=303)
            return PlainTextResponse("log in first", status_code=403)
        if is_api and caller.csrf and request.method == "POST" and not gate.csrf_ok(
                request, request.headers.get("x-csrf-token")):
            return JSONResponse({"error": "missing or wrong CSRF token"}, status_code=403)
        if not caller.operator and (request.method == "POST" or request.url.path == "/submit"):
            refusal = f"{caller.user} is a {caller.role}: only an operator may change jobs or nodes"
            if is_api:
                return JSONResponse({"error": refusal}, status_code=403)
            return PlainTextResponse(refusal, status_code=403)
        request.state.caller = caller
        request.state.gate = gate
        try:
            return await endpoint(request)
        except pages.Refused as err:
            return PlainTextResponse(str(err), status_code=403)
        except EhpcError as err:
            if is_api:
                return JSONResponse({"error": str(err)}, status_code=400)
            return pages.render(request, "error.html", {"error": str(err)}, status=400)

    return call


def build_app(agent_dir: Path) -> Starlette:
    gate = Gate.at(agent_dir)
    cluster = Cluster(agent_dir)

    def protect(items: list[Route], is_api: bool) -> list[BaseRoute]:
        return [Route(r.path, guarded(gate, r.endpoint, is_api), methods=sorted(r.methods or []))
                for r in items]

    async def login(request: Request) -> Response:
        if request.method == "GET" and "code" in request.query_params:
            return _enter(gate.code_login(request, request.query_params["code"]))
        if request.method == "POST":
            async with request.form(max_files=0, max_fields=4) as form:
                expected = request.cookies.get(LOGIN_CSRF, "")
                if not expected or form.get("csrf") != expected:
                    return PlainTextResponse("missing or wrong CSRF token", status_code=403)
                token = form.get("token")
                return _enter(gate.token_login(request, token if isinstance(token, str) else ""))
        check = secrets.token_urlsafe(16)
        values = {"csrf": check, "failed": "failed" in request.query_params,
                  "own_host": dashboard_host(request.headers.get("host", ""))}
        response = pages.render(request, "login.html", values)
        response.set_cookie(LOGIN_CSRF, check, httponly=True, samesite="strict")
        return response

    async def logout(request: Request) -> Response:
        async with request.form(max_files=0, max_fields=4) as form:
            if not gate.csrf_ok(request, str(form.get("csrf") or "")):
                return PlainTextResponse("missing or wrong CSRF token", status_code=403)
        gate.logout(request)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    static = Path(__file__).parent / "static"
    # Only the tunnel's own names (no DNS rebinding); no framing, no script from elsewhere.
    hosts = ["127.0.0.1", "localhost", "*.localhost"]
    middleware = [Middleware(TrustedHostMiddleware, allowed_hosts=hosts),
                  Middleware(SecurityHeaders)]
    return Starlette(middleware=middleware, routes=[
        *protect(api.routes(cluster), is_api=True),
        Route("/login", login, methods=["GET", "POST"]),
        Route("/logout", logout, methods=["POST"]),
        Mount("/static", StaticFiles(directory=static), name="static"),
        *protect(pages.routes(cluster), is_api=False),
    ])


class SecurityHeaders:
    """Headers on every answer: no framing (clickjacking), scripts and styles only from here,
    nothing cached or sniffed."""

    HEADERS = ((b"content-security-policy",
                b"default-src 'self'; frame-ancestors 'none'; form-action 'self'"),
               (b"x-frame-options", b"DENY"), (b"x-content-type-options", b"nosniff"),
               (b"referrer-policy", b"no-referrer"), (b"cache-control", b"no-store"))

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *[(k, v) for k, v in self.HEADERS if k not in names]]
            await send(message)

        await self.app(scope, receive, with_headers if scope["type"] == "http" else send)


def _enter(session: str | None) -> Response:
    if session is None:
        return RedirectResponse("/login?failed=1", status_code=303)
    response = RedirectResponse("/jobs", status_code=303)
    response.set_cookie(COOKIE, session, httponly=True, samesite="strict")
    return response


def serve(agent_dir: Path, port: int = PORT) -> threading.Thread:
    """Serve on the head's loopback in a thread beside the agent's loop; a failure to start is
    logged, never fatal to the agent."""
    import uvicorn

    def run() -> None:
        try:
            config = uvicorn.Config(build_app(agent_dir), host="127.0.0.1", port=port,
                                    log_level="warning", access_log=False)
            uvicorn.Server(config).run()
        except Exception:  # the agent's repairs go on without its web API
            traceback.print_exc()
        print("ehpc-agent: web API stopped", file=sys.stderr, flush=True)

    thread = threading.Thread(target=run, name="ehpc-web", daemon=True)
    thread.start()
    return thread
