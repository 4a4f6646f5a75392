"""Who may call: the API token (bearer), browser sessions made from one-time login codes, and
the CSRF token of each session.

The token is made when the agent first starts (at create) into a root-only file and is never
logged. A login code is made by the client (`ehpc dashboard`): it writes only the code's SHA-256
into the codes directory over SSH; the code itself travels in the URL the user opens, once.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from starlette.requests import Request

from . import WEB_DIR

CODE_TTL = 600.0  # seconds a one-time login code stays valid
SESSION_TTL = 12 * 3600.0
COOKIE = "ehpc_session"


def web_dir(agent_dir: Path) -> Path:
    path = agent_dir / WEB_DIR
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def codes_dir(agent_dir: Path) -> Path:
    return web_dir(agent_dir) / "logins"


def ensure_token(agent_dir: Path) -> str:
    """The cluster's API token (made once, 0600)."""
    path = web_dir(agent_dir) / "token"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(32))
    return path.read_text().strip()


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


@dataclass
class Session:
    csrf: str
    expires: float


@dataclass
class Gate:
    agent_dir: Path
    token: str
    sessions: dict[str, Session] = field(default_factory=dict)

    def bearer_ok(self, request: Request) -> bool:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), self.token.encode())

    def session(self, request: Request) -> Session | None:
        found = self.sessions.get(request.cookies.get(COOKIE, ""))
        if found is None or found.expires < time.time():
            return None
        return found

    def token_login(self, given: str) -> str | None:
        """A new session id for the right token, else None."""
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            return None
        return self._new_session()

    def code_login(self, code: str) -> str | None:
        """A new session id for a valid one-time code (used up here), else None."""
        if not code or len(code) > 200:
            return None
        path = codes_dir(self.agent_dir) / code_hash(code)
        try:
            made = path.stat().st_mtime
            path.unlink()
        except FileNotFoundError:
            return None
        return self._new_session() if time.time() - made < CODE_TTL else None

    def logout(self, request: Request) -> None:
        self.sessions.pop(request.cookies.get(COOKIE, ""), None)

    def csrf_ok(self, request: Request, given: str | None) -> bool:
        found = self.session(request)
        return bool(found and given and hmac.compare_digest(given.encode(), found.csrf.encode()))

    def _new_session(self) -> str:
        now = time.time()
        for sid in [s for s, v in self.sessions.items() if v.expires < now]:
            del self.sessions[sid]
        sid = secrets.token_urlsafe(32)
        self.sessions[sid] = Session(secrets.token_urlsafe(24), now + SESSION_TTL)
        return sid
