"""Who may use the dashboard and web API: grants, each for one user with one role, until it
expires or is revoked, kept on the head in a root-only file (`web/grants.json`).

A grant with an API token holds only the token's SHA-256: the client makes the token, prints it
once and sends the hash (`ehpc-agent web issue`), so the token itself is never on the head, in a
command line or in a log. A browser grant (`ehpc dashboard NAME`) has no token: its one-time
login code (also stored as a hash, with the host name the link names) starts a session of it.
Revoking a grant ends its sessions at their next request.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ...errors import ConfigError
from ...providers.local.files import exclusive, read_json
from . import WEB_DIR

ROLES = ("viewer", "operator")  # viewer: reads only; operator: also submits, cancels, drains
CODE_TTL = 600.0  # seconds a one-time login code stays valid
KEEP_EXPIRED = 7 * 86400.0  # an ended grant stays listed this long
TOKEN_RE = re.compile(r"^ehpc_([0-9a-f]{8})_[A-Za-z0-9_-]{32}$")
USER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


@dataclass
class Grant:
    id: str
    user: str
    role: str
    created: float
    expires: float
    token_hash: str | None = None  # None: a browser grant (login codes only)
    revoked: float | None = None

    def live(self, now: float) -> bool:
        return self.revoked is None and now < self.expires

    def public(self, now: float) -> dict[str, Any]:
        state = "revoked" if self.revoked is not None else "expired" if now >= self.expires else "active"
        return {"id": self.id, "user": self.user, "role": self.role, "created": self.created,
                "expires": self.expires, "kind": "browser" if self.token_hash is None else "token",
                "state": state}


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def new_token() -> tuple[str, str]:
    """(grant id, API token): the token names its grant, so a check reads one record."""
    grant_id = secrets.token_hex(4)
    return grant_id, f"ehpc_{grant_id}_{secrets.token_urlsafe(24)}"


def check_grant(user: str, role: str, hours: float) -> None:
    if not USER_RE.match(user):
        raise ConfigError(f"user {user!r}: use letters, digits, '.', '_', '@', '-' (at most 64)")
    if role not in ROLES:
        raise ConfigError(f"role {role!r}: choose {' or '.join(ROLES)}")
    if not 1 / 60 <= hours <= 366 * 24:  # also refuses nan
        raise ConfigError(f"a grant lasts from 1 minute to 366 days, not {hours:g} hours")


class Grants:
    """The grants file and the login codes directory, under the agent's directory (0700 root)."""

    def __init__(self, agent_dir: Path) -> None:
        self.dir = agent_dir / WEB_DIR
        self.path = self.dir / "grants.json"
        self.codes = self.dir / "logins"
        self._cache: tuple[tuple[int, int], dict[str, Grant]] = ((0, 0), {})

    def all(self) -> dict[str, Grant]:
        """Read again only when the file changed (every request asks)."""
        try:
            found = self.path.stat()
        except FileNotFoundError:
            return {}
        changed = (found.st_ino, found.st_mtime_ns)  # each write is a new file
        if changed != self._cache[0]:
            self._cache = (changed, {k: Grant(**v) for k, v in read_json(self.path).items()})
        return self._cache[1]

    def by_token(self, token: str) -> Grant | None:
        found = TOKEN_RE.match(token)
        grant = self.all().get(found.group(1)) if found else None
        if grant is None or grant.token_hash is None or not grant.live(time.time()):
            return None
        return grant if secrets.compare_digest(grant.token_hash, sha256(token)) else None

    def live(self, grant_id: str) -> Grant | None:
        grant = self.all().get(grant_id)
        return grant if grant is not None and grant.live(time.time()) else None

    def issue(self, request: dict[str, Any]) -> dict[str, Any]:
        """A grant from the client's request: user, role, hours, and either `token_hash` (an API
        token) or `code_hash` + `host` (a browser's one-time login link)."""
        user, role, hours = str(request.get("user")), str(request.get("role")), request.get("hours")
        if not isinstance(hours, int | float):
            raise ConfigError("hours must be a number")
        check_grant(user, role, float(hours))
        token_hash, code_hash = request.get("token_hash"), request.get("code_hash")
        if bool(token_hash) == bool(code_hash):
            raise ConfigError("a grant has either a token or a login code")
        for value in (token_hash, code_hash):
            if value is not None and not re.fullmatch(r"[0-9a-f]{64}", str(value)):
                raise ConfigError("a hash is 64 hex digits")
        now = time.time()
        grant_id = str(request.get("id") or secrets.token_hex(4))
        if not re.fullmatch(r"[0-9a-f]{8}", grant_id):
            raise ConfigError("a grant id is 8 hex digits")
        grant = Grant(grant_id, user, role, now, now + float(hours) * 3600, token_hash)
        with self._changing() as grants:
            if grant_id in grants:
                raise ConfigError(f"grant {grant_id} exists already")
            grants[grant_id] = grant
        if code_hash:
            self.codes.mkdir(mode=0o700, exist_ok=True)
            fd = os.open(self.codes / str(code_hash), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                json.dump({"grant": grant_id, "host": str(request.get("host") or "")}, out)
        return grant.public(now)

    def use_code(self, code: str, host: str) -> Grant | None:
        """The live grant of a one-time code given at the host its link names (used up here)."""
        if not code or len(code) > 200:
            return None
        path = self.codes / sha256(code)
        try:
            made = path.stat().st_mtime
            record = read_json(path)
            path.unlink()
        except FileNotFoundError:
            return None
        if time.time() - made >= CODE_TTL or record.get("host") != host:
            return None
        return self.live(str(record.get("grant")))

    def revoke(self, grant_id: str) -> dict[str, Any]:
        with self._changing() as grants:
            grant = grants.get(grant_id)
            if grant is None:
                raise ConfigError(f"no grant {grant_id!r} (see `ehpc dashboard NAME --grants`)")
            if grant.revoked is None:
                grant.revoked = time.time()
        return grant.public(time.time())

    def listing(self) -> list[dict[str, Any]]:
        now = time.time()
        return [g.public(now) for g in sorted(self.all().values(), key=lambda g: g.created)]

    @contextmanager
    def _changing(self) -> Iterator[dict[str, Grant]]:
        """The grants under the lock, written back whole (a new file, renamed over the old),
        without those ended more than KEEP_EXPIRED ago."""
        self.dir.mkdir(mode=0o700, exist_ok=True)
        with exclusive(self.dir / "grants.lock"):
            grants = {k: Grant(**v) for k, v in read_json(self.path).items()}
            yield grants
            now = time.time()
            kept = {k: asdict(g) for k, g in grants.items()
                    if min(g.expires, g.revoked or g.expires) > now - KEEP_EXPIRED}
            fresh = self.path.with_suffix(".new")
            fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as out:
                json.dump(kept, out)
            os.replace(fresh, self.path)
