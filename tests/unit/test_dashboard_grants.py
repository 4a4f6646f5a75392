"""The dashboard's grants file (agent/web/grants.py) as the head keeps it: only hashes, root-only
modes, tokens that expire and can be revoked, one-time login codes bound to their host name."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import pytest

from elastichpc.agent.web.grants import Grants, new_token, sha256
from elastichpc.errors import ConfigError


def issue(grants: Grants, role: str = "viewer", hours: float = 1.0) -> str:
    grant_id, token = new_token()
    grants.issue({"id": grant_id, "user": "ana", "role": role, "hours": hours,
                  "token_hash": sha256(token)})
    return token


def test_only_hashes_are_kept_root_only(tmp_path: Path) -> None:
    grants = Grants(tmp_path)
    token = issue(grants)
    kept = grants.path.read_text()
    assert token not in kept and sha256(token) in kept
    assert stat.S_IMODE(os.stat(grants.path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(grants.dir).st_mode) == 0o700
    grant = grants.by_token(token)
    assert grant is not None and (grant.user, grant.role) == ("ana", "viewer")
    assert "token_hash" not in json.dumps(grants.listing())
    assert grants.by_token(token[:-1] + ("A" if token[-1] != "A" else "B")) is None


def test_expired_and_revoked_tokens_are_refused(tmp_path: Path) -> None:
    grants = Grants(tmp_path)
    short, revoked = issue(grants, hours=1 / 60), issue(grants, role="operator")
    record = json.loads(grants.path.read_text())
    for grant in record.values():  # the short one ended a second ago
        if grant["expires"] - grant["created"] < 120:
            grant["expires"] = time.time() - 1
    grants.path.write_text(json.dumps(record))
    os.utime(grants.path, ns=(time.time_ns(), time.time_ns() + 1))
    assert grants.by_token(short) is None
    grant = grants.by_token(revoked)
    assert grant is not None
    assert grants.revoke(grant.id)["state"] == "revoked"
    assert grants.by_token(revoked) is None and grants.live(grant.id) is None
    assert {g["state"] for g in grants.listing()} == {"expired", "revoked"}
    with pytest.raises(ConfigError, match="no grant"):
        grants.revoke("00000000")


def test_a_login_code_works_once_at_its_own_host(tmp_path: Path) -> None:
    grants = Grants(tmp_path)
    host = "demo-0a1b2c3d.localhost:40001"
    for code in ("first-code", "second-code"):
        grants.issue({"user": "ana", "role": "operator", "hours": 1, "code_hash": sha256(code),
                      "host": host})
    assert grants.use_code("first-code", "127.0.0.1:40001") is None  # another host: used up
    assert grants.use_code("first-code", host) is None
    found = grants.use_code("second-code", host)
    assert found is not None and found.role == "operator"
    assert grants.use_code("second-code", host) is None


@pytest.mark.parametrize("request_", [
    {"user": "ana", "role": "admin", "hours": 1, "token_hash": "0" * 64},
    {"user": "a b", "role": "viewer", "hours": 1, "token_hash": "0" * 64},
    {"user": "ana", "role": "viewer", "hours": float("nan"), "token_hash": "0" * 64},
    {"user": "ana", "role": "viewer", "hours": -1, "token_hash": "0" * 64},
    {"user": "ana", "role": "viewer", "hours": 1},
    {"user": "ana", "role": "viewer", "hours": 1, "token_hash": "not a hash"},
])
def test_bad_grants_are_refused_and_nothing_is_made(tmp_path: Path, request_: dict[str, object]) -> None:
    grants = Grants(tmp_path)
    with pytest.raises(ConfigError):
        grants.issue(request_)
    assert not grants.path.exists()
