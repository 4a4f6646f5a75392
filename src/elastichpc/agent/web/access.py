"""The client's side of the dashboard's grants (grants.py): a browser's one-time login link, API
tokens issued, listed and revoked, through `ehpc-agent web` on the head as root.

Only hashes leave this machine, on standard input: a token or code is printed here once.
"""

from __future__ import annotations

import getpass
import json
import secrets
from typing import Any

from ...orchestration.context import ClusterContext
from ..install import call_agent
from .grants import check_grant, new_token, sha256

BROWSER_HOURS = 12.0  # a browser login lasts as long as a session


def dashboard_base(context: ClusterContext, port: int) -> str:
    """The dashboard's address: a host name of its own under .localhost (browsers send
    .localhost to this machine), so its cookie goes to no other local server (auth.py)."""
    return f"http://{context.name}-{secrets.token_hex(4)}.localhost:{port}"


def login_link(context: ClusterContext, base: str, role: str, user: str | None = None) -> str:
    """A link that logs a browser in once, within 10 minutes, at `base` only."""
    code = secrets.token_urlsafe(24)
    _issue(context, {"user": user or getpass.getuser(), "role": role, "hours": BROWSER_HOURS,
                     "code_hash": sha256(code), "host": base.removeprefix("http://")})
    return f"{base}/login?code={code}"


def issue_token(context: ClusterContext, user: str, role: str, hours: float) -> tuple[str, dict[str, Any]]:
    """(the API token, its grant as listed)."""
    check_grant(user, role, hours)  # here first: nothing is made for bad input
    grant_id, token = new_token()
    return token, _issue(context, {"id": grant_id, "user": user, "role": role, "hours": hours,
                                   "token_hash": sha256(token)})


def list_grants(context: ClusterContext) -> list[dict[str, Any]]:
    return call_agent(context, ["web", "list"])  # type: ignore[no-any-return]


def revoke_grant(context: ClusterContext, grant_id: str) -> dict[str, Any]:
    return call_agent(context, ["web", "revoke", grant_id])  # type: ignore[no-any-return]


def _issue(context: ClusterContext, request: dict[str, Any]) -> dict[str, Any]:
    return call_agent(context, ["web", "issue"], input=json.dumps(request))  # type: ignore[no-any-return]
