"""Which Google credentials a call uses, in this order:

0. EHPC_GCE_CREDENTIALS: a credential of 1. or 2. itself, as JSON (how the head agent is given the
   client's, `agent_credential`: its settings name files that are on the client only);
1. [GCE] CREDENTIALS_FILE: a service-account JSON key;
2. [GCE] OAUTH STORAGE: the guide's stored user credential (a google-auth `authorized_user` file,
   or the guide-era oauth2client storage file), its client id/secret taken from
   [GCE] CLIENT SECRET when the stored file lacks them. ehpc never runs a browser sign-in;
3. anonymous, only when another API endpoint is set (an emulator) and no ADC file is named;
4. Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud, the metadata server).

Scopes: [GCE] COMPUTE SCOPE, default the compute scope. Secrets never leave this module. With an
endpoint outside googleapis.com, a service account signs its own tokens (as in any universe
other than Google's); a stored user credential still refreshes at its token URI.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ...config import Settings
from ...errors import ConfigError, PrerequisiteError

COMPUTE_SCOPE = "https://www.googleapis.com/auth/compute"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
AGENT_CREDENTIAL = "EHPC_GCE_CREDENTIALS"


def _read_json(path: str, key: str) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).expanduser().read_text())
    except FileNotFoundError:
        raise ConfigError(f"[GCE] {key}: file {path} does not exist") from None
    except (OSError, ValueError) as err:
        raise ConfigError(f"[GCE] {key}: {path} is not a readable JSON file ({err})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"[GCE] {key}: {path} is not a JSON object")
    return data


def _service_account(path: str, scopes: list[str], endpoint: str) -> tuple[Any, str]:
    return _from_key(_read_json(path, "CREDENTIALS_FILE"), path, scopes, endpoint)


def _from_key(info: dict[str, Any], path: str, scopes: list[str], endpoint: str) -> tuple[Any, str]:
    from google.oauth2 import service_account

    if info.get("type") != "service_account":
        raise ConfigError(f"[GCE] CREDENTIALS_FILE: {path} is not a service-account key "
                          f"(type {info.get('type')!r})")
    try:
        credentials = service_account.Credentials.from_service_account_info(info, scopes=scopes)
    except (ValueError, KeyError) as err:
        raise ConfigError(f"[GCE] CREDENTIALS_FILE: {path} is not a valid key ({err})") from None
    host = urlsplit(endpoint).hostname or ""
    if host and not host.endswith(".googleapis.com"):
        # Another universe: the key signs its own tokens (self-signed JWT) and google-auth makes
        # no side lookups at iamcredentials.googleapis.com for the endpoint's requests.
        credentials = credentials.with_universe_domain(host)
    return credentials, info.get("project_id", "")


def _client_secret(settings: Settings) -> dict[str, str]:
    path = settings.get("GCE", "CLIENT SECRET")
    if not path:
        return {}
    data = _read_json(path, "CLIENT SECRET")
    return data.get("installed") or data.get("web") or data


def _stored_user(path: str, settings: Settings, scopes: list[str]) -> tuple[Any, str]:
    from google.oauth2.credentials import Credentials

    fields, project = _user_fields(path, settings)
    return Credentials(token=None, scopes=scopes, **fields), project


def _user_fields(path: str, settings: Settings) -> tuple[dict[str, Any], str]:
    """The stored user credential's refresh token, client and token URI, and its project."""
    if not Path(path).expanduser().is_file():
        raise PrerequisiteError(
            f"[GCE] OAUTH STORAGE {path} does not exist: ehpc does not run the browser sign-in. "
            "Use a service-account key ([GCE] CREDENTIALS_FILE) or `gcloud auth "
            "application-default login`"
        )
    stored = _read_json(path, "OAUTH STORAGE")
    secret = _client_secret(settings)
    fields = {
        "refresh_token": stored.get("refresh_token"),
        "client_id": stored.get("client_id") or secret.get("client_id"),
        "client_secret": stored.get("client_secret") or secret.get("client_secret"),
        "token_uri": stored.get("token_uri") or secret.get("token_uri") or GOOGLE_TOKEN_URI,
    }
    missing = sorted(k for k, v in fields.items() if not v)
    if missing:
        raise ConfigError(f"[GCE] OAUTH STORAGE {path} lacks {', '.join(missing)} "
                          "(and [GCE] CLIENT SECRET does not supply them)")
    return fields, stored.get("quota_project_id", "")


def agent_credential(settings: Settings) -> str:
    """The credential this client signs in with (1. or 2.), as JSON for EHPC_GCE_CREDENTIALS;
    "" when it is anonymous or Application Default Credentials, which the head finds itself
    (its own service account, on GCE)."""
    key_file = settings.get("GCE", "CREDENTIALS_FILE")
    if key_file:
        return json.dumps(_read_json(key_file, "CREDENTIALS_FILE"))
    storage = settings.get("GCE", "OAUTH STORAGE")
    if storage:
        fields, project = _user_fields(storage, settings)
        return json.dumps({"type": "authorized_user", "quota_project_id": str(project), **fields})
    return ""


def _shipped(scopes: list[str], endpoint: str) -> tuple[Any, str] | None:
    shipped = os.environ.get(AGENT_CREDENTIAL)
    if not shipped:
        return None
    info = json.loads(shipped)
    if info["type"] == "service_account":
        return _from_key(info, AGENT_CREDENTIAL, scopes, endpoint)
    from google.oauth2.credentials import Credentials

    project = info.pop("quota_project_id")
    info.pop("type")
    return Credentials(token=None, scopes=scopes, **info), project


def load_credentials(settings: Settings, endpoint: str) -> tuple[Any, str]:
    """(credentials, project id they name or ""); one clear line when there are none."""
    scopes = [settings.get("GCE", "COMPUTE SCOPE") or COMPUTE_SCOPE]
    shipped = _shipped(scopes, endpoint)
    if shipped:
        return shipped
    key_file = settings.get("GCE", "CREDENTIALS_FILE")
    if key_file:
        return _service_account(key_file, scopes, endpoint)
    storage = settings.get("GCE", "OAUTH STORAGE")
    if storage:
        return _stored_user(storage, settings, scopes)
    if endpoint and not os.environ.get("GOOGLE_APPLICATION_CREDENTIALS"):
        from google.auth.credentials import AnonymousCredentials

        return AnonymousCredentials(), ""
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    try:
        credentials, project = google.auth.default(scopes=scopes)
    except DefaultCredentialsError:
        raise PrerequisiteError(
            "no Google credentials: set [GCE] CREDENTIALS_FILE to a service-account key, "
            "GOOGLE_APPLICATION_CREDENTIALS, or run `gcloud auth application-default login`"
        ) from None
    return credentials, project or ""
