"""Credentials: a service-account key (its self-signed tokens checked against the key the
emulator knows) and the guide's stored OAuth user credential (refreshed at the emulator's token
endpoint) really authenticate; missing or unknown ones are one clear line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from elastichpc.cli.main import main
from elastichpc.config import build_spec
from elastichpc.errors import ConfigError, PrerequisiteError
from elastichpc.orchestration.create import create_cluster
from tests.emulators.gce import Emulator, EmulatorServer

from .conftest import PROJECT, gce_provider, gce_settings


def service_account_file(path: Path, token_uri: str, emulator: Emulator | None = None) -> Path:
    """A new service-account key; its public half registered with the emulator when given."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    email = "ehpc@sa-project.iam.gserviceaccount.com"
    path.write_text(json.dumps({
        "type": "service_account", "project_id": "sa-project", "private_key_id": "k1",
        "private_key": pem, "client_email": email, "client_id": "1234", "token_uri": token_uri,
    }))
    if emulator is not None:
        emulator.register_service_account(email, key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return path


def test_service_account_key(gce_server: EmulatorServer, tmp_path: Path) -> None:
    gce = gce_server.emulator
    key = service_account_file(tmp_path / "sa.json", f"{gce_server.url}/token", gce)
    settings = gce_settings(GCE__CREDENTIALS_FILE=key)
    settings.values.pop(("GCE", "PROJECTID"))  # the key's project is used
    create_cluster(build_spec(settings, name="sa1"), provision_only=True)
    assert set(gce.callers) == {"self-signed JWT of ehpc@sa-project.iam.gserviceaccount.com"}
    assert {i["selfLink"].split("/projects/")[1].split("/")[0] for i in gce.state.instances.values()} == {
        "sa-project"}
    assert all(r.status == 200 for r in gce.requests())
    gce_provider(GCE__CREDENTIALS_FILE=key, GCE__PROJECT_ID="sa-project").terminate("sa1", print)
    assert not gce.state.instances


def test_a_key_the_service_does_not_know(gce_server: EmulatorServer, tmp_path: Path) -> None:
    key = service_account_file(tmp_path / "sa.json", f"{gce_server.url}/token")  # not registered
    with pytest.raises(PrerequisiteError, match=r"^GCE refused the credentials \(list disks\): Request "
                                                "had invalid authentication credentials"):
        gce_provider(GCE__CREDENTIALS_FILE=key).disks()


def test_guide_oauth_storage(gce_server: EmulatorServer, tmp_path: Path) -> None:
    secret = tmp_path / "client_secret.json"
    secret.write_text(json.dumps({"installed": {"client_id": "cid.apps.googleusercontent.com",
                                                "client_secret": "s3cret",
                                                "token_uri": f"{gce_server.url}/token"}}))
    stored = tmp_path / "oauth2.dat"  # oauth2client's storage file: no client secret in it
    stored.write_text(json.dumps({"_class": "OAuth2Credentials", "refresh_token": "1//refresh",
                                  "access_token": "old", "token_expiry": "2015-01-01T00:00:00Z"}))
    provider = gce_provider(GCE__CLIENT_SECRET=secret, GCE__OAUTH_STORAGE=stored)
    assert provider.disks() == []
    assert list(gce_server.emulator.tokens.values()) == ["refresh_token"]
    assert gce_server.emulator.callers == ["token from refresh_token"]


def test_oauth_storage_that_does_not_exist(gce_server: EmulatorServer, tmp_path: Path) -> None:
    with pytest.raises(PrerequisiteError, match=r"OAUTH STORAGE .*oauth2.dat does not exist: ehpc "
                                                "does not run the browser sign-in"):
        gce_provider(GCE__OAUTH_STORAGE=tmp_path / "oauth2.dat").check_ready()


def test_oauth_storage_without_client_secret(gce_server: EmulatorServer, tmp_path: Path) -> None:
    stored = tmp_path / "oauth2.dat"
    stored.write_text(json.dumps({"refresh_token": "1//refresh"}))
    with pytest.raises(ConfigError, match="lacks client_id, client_secret"):
        gce_provider(GCE__OAUTH_STORAGE=stored).check_ready()


def test_not_a_service_account_key(gce_server: EmulatorServer, tmp_path: Path) -> None:
    key = tmp_path / "key.json"
    key.write_text(json.dumps({"type": "authorized_user"}))
    with pytest.raises(ConfigError, match="is not a service-account key"):
        gce_provider(GCE__CREDENTIALS_FILE=key).check_ready()


def test_no_credentials_without_an_emulator(
    gce_server: EmulatorServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EHPC_GCE_ENDPOINT")  # the real endpoint: never reached, ADC fails first
    code = main(["cluster", "create", "--provider", "gce", "--gce-project-id", PROJECT, "--name", "nc1",
                 "--provision-only"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.strip().splitlines()[-1] == (
        "ehpc: error: no Google credentials: set [GCE] CREDENTIALS_FILE to a service-account key, "
        "GOOGLE_APPLICATION_CREDENTIALS, or run `gcloud auth application-default login`")
    assert gce_server.emulator.requests() == []


def test_project_is_required(gce_server: EmulatorServer) -> None:
    settings = gce_settings()
    settings.values.pop(("GCE", "PROJECTID"))
    from elastichpc.providers import get_provider

    with pytest.raises(ConfigError, match=r"\[GCE\] PROJECT_ID is not set"):
        get_provider("gce", settings).check_ready()


@pytest.mark.parametrize("kind", ["service-account key", "stored user credential"])
def test_the_head_agent_signs_in_as_the_client(gce_server: EmulatorServer, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    """The agent's environment carries the credential itself: the head has none of the files
    its settings name."""
    token_uri = f"{gce_server.url}/token"
    if kind == "service-account key":
        files = {"GCE__CREDENTIALS_FILE": service_account_file(tmp_path / "sa.json", token_uri,
                                                               gce_server.emulator)}
        caller = "self-signed JWT of ehpc@sa-project.iam.gserviceaccount.com"
    else:
        stored = tmp_path / "GCE.dat"
        stored.write_text(json.dumps({"type": "authorized_user", "client_id": "cid",
                                      "client_secret": "s3cret", "refresh_token": "1//r",
                                      "token_uri": token_uri}))
        files, caller = {"GCE__OAUTH_STORAGE": stored}, "token from refresh_token"
    environment = gce_provider(**files).agent_environment()
    for path in files.values():
        path.unlink()
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    assert gce_provider(**files).disks() == []
    assert gce_server.emulator.callers == [caller]
