"""Who is calling: a grant's API token (bearer), or a browser session made from a grant's
one-time login code or token, each session with its own CSRF token.

A browser session belongs to the host name it was made at, `NAME-XXXXXXXX.localhost:PORT`
(`ehpc dashboard` prints it): browsers keep cookies per host name, not per port, so a cookie set
at 127.0.0.1 would go to every server on 127.0.0.1; a host name of its own (random, so no other
server can send the browser there and be same-site with it) keeps the cookie to this dashboard.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from starlette.requests import Request

from .grants import Grant, Grants

SESSION_TTL = 12 * 3600.0
COOKIE = "ehpc_session"


@dataclass
class Caller:
    user: str
    role: str
    csrf: str = ""  # "" for a bearer token (no cookie: no cross-site request to guard)

    @property
    def operator(self) -> bool:
        return self.role == "operator"


@dataclass
class Session:
    grant: str
    host: str
    csrf: str
    expires: float


def dashboard_host(host: str) -> bool:
    """A host name of its own under .localhost (with its port): the only kind a session may use."""
    name = host.rpartition(":")[0] if host.count(":") == 1 else host
    return name.endswith(".localhost") and len(name) > len(".localhost")


@dataclass
class Gate:
    grants: Grants
    sessions: dict[str, Session] = field(default_factory=dict)

    @classmethod
    def at(cls, agent_dir: Path) -> Gate:
        grants = Grants(agent_dir)
        (grants.dir / "token").unlink(missing_ok=True)  # the one shared token of old
        return cls(grants)

    def caller(self, request: Request) -> Caller | None:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            grant = self.grants.by_token(given.strip())
            return Caller(grant.user, grant.role) if grant else None
        session = self.session(request)
        grant = self.grants.live(session.grant) if session else None
        if session is None or grant is None:
            return None
        return Caller(grant.user, grant.role, session.csrf)

    def session(self, request: Request) -> Session | None:
        found = self.sessions.get(request.cookies.get(COOKIE, ""))
        if found is None or found.expires < time.time() or found.host != request.headers.get("host"):
            return None
        return found

    def token_login(self, request: Request, given: str) -> str | None:
        """A new session id for a live grant's token, else None."""
        grant = self.grants.by_token(given.strip())
        return self._new_session(grant, request) if grant else None

    def code_login(self, request: Request, code: str) -> str | None:
        """A new session id for a valid one-time code at the host its link names, else None."""
        grant = self.grants.use_code(code, request.headers.get("host", ""))
        return self._new_session(grant, request) if grant else None

    def logout(self, request: Request) -> None:
        self.sessions.pop(request.cookies.get(COOKIE, ""), None)

    def csrf_ok(self, request: Request, given: str | None) -> bool:
        found = self.session(request)
        return bool(found and given and secrets.compare_digest(given.encode(), found.csrf.encode()))

    def _new_session(self, grant: Grant, request: Request) -> str | None:
        host = request.headers.get("host", "")
        if not dashboard_host(host):
            return None
        now = time.time()
        for sid in [s for s, v in self.sessions.items() if v.expires < now]:
            del self.sessions[sid]
        sid = secrets.token_urlsafe(32)
        self.sessions[sid] = Session(grant.id, host, secrets.token_urlsafe(24),
                                     min(now + SESSION_TTL, grant.expires))
        return sid
