"""Signing in to the ARM fake's Entra ID endpoints: the guide's .pem and .pfx as a service
principal's certificate, DefaultAzureCredential, endpoint settings, and the one-line errors."""

from __future__ import annotations

import uuid

import pytest

from elastichpc.cli.main import main
from elastichpc.config import load_settings
from elastichpc.errors import ConfigError, EhpcError, PrerequisiteError
from elastichpc.providers import get_provider
from tests.azure.conftest import TENANT, AzureEmulators


def _list_nothing() -> list:
    return get_provider("azure", load_settings()).machines("nobody")


def test_pem_certificate_signs_in_and_the_token_is_used(azure: AzureEmulators) -> None:
    assert _list_nothing() == []
    assert len(azure.fake.tokens) == 1
    assert azure.fake.stats.requests  # ARM calls came with that token (others get 401)


def test_pfx_with_password(azure: AzureEmulators) -> None:
    azure.write_conf(**{"AZURE.CERTIFICATE PATH": "", "AZURE.CERT DATA PATH": str(azure.client.pfx),
                        "AZURE.CERT PASSWORD": azure.client.password})
    assert _list_nothing() == []


def test_pfx_with_a_wrong_password_is_one_line(azure: AzureEmulators) -> None:
    azure.write_conf(**{"AZURE.CERTIFICATE PATH": "", "AZURE.CERT DATA PATH": str(azure.client.pfx),
                        "AZURE.CERT PASSWORD": "wrong"})
    with pytest.raises(ConfigError, match="needs the right \\[AZURE\\] CERT PASSWORD"):
        _list_nothing()


def test_unknown_service_principal_is_refused_in_one_line(azure: AzureEmulators) -> None:
    azure.write_conf(**{"AZURE.CLIENT ID": str(uuid.uuid4())})
    with pytest.raises(PrerequisiteError) as caught:
        _list_nothing()
    assert str(caught.value).startswith("Azure sign-in failed while listing the machines of nobody")
    assert "\n" not in str(caught.value) and azure.fake.stats.requests == []


def test_missing_tenant_id_is_one_clear_line(azure: AzureEmulators, capsys) -> None:
    azure.write_conf(**{"AZURE.TENANT ID": ""})
    assert main(["cluster", "create", "--name", "nocreds", "--size", "1", "--provision-only"]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        "ehpc: error: [AZURE] CERTIFICATE PATH signs in as a service principal, which needs "
        "[AZURE] TENANT ID: add it (the app registration holding that certificate)")


def test_thumbprint_is_accepted_with_one_warning_line(azure: AzureEmulators, capsys) -> None:
    azure.write_conf(**{"AZURE.THUMBPRINT": "0123456789ABCDEF"})
    get_provider("azure", load_settings()).check_ready()
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ehpc: warning: [AZURE] THUMBPRINT belongs to Azure's retired")
    assert _list_nothing() == []


def test_default_credential_from_the_environment(azure: AzureEmulators, monkeypatch) -> None:
    azure.write_conf(**{"AZURE.CERTIFICATE PATH": "", "AZURE.TENANT ID": "", "AZURE.CLIENT ID": ""})
    monkeypatch.setenv("AZURE_TENANT_ID", TENANT)
    monkeypatch.setenv("AZURE_CLIENT_ID", azure.client_id)
    monkeypatch.setenv("AZURE_CLIENT_CERTIFICATE_PATH", str(azure.client.pem))
    assert _list_nothing() == []
    assert len(azure.fake.tokens) == 1


def test_endpoints_from_environment_variables(azure: AzureEmulators, monkeypatch) -> None:
    azure.write_conf(**{"AZURE.ARM_ENDPOINT": "", "AZURE.CA_BUNDLE": "", "AZURE.AUTHORITY_HOST": ""})
    monkeypatch.setenv("EHPC_AZURE_ENDPOINT", azure.fake.endpoint)
    monkeypatch.setenv("EHPC_AZURE_AUTHORITY", azure.fake.endpoint)
    monkeypatch.setenv("EHPC_AZURE_CA_BUNDLE", str(azure.tls.ca))
    assert _list_nothing() == []


def test_an_untrusted_certificate_is_refused_in_one_line(azure: AzureEmulators) -> None:
    azure.write_conf(**{"AZURE.CA_BUNDLE": ""})  # the fake's CA is not in the system store
    with pytest.raises(EhpcError) as caught:
        _list_nothing()
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value) and "\n" not in str(caught.value)


def test_missing_subscription_is_one_clear_line(azure: AzureEmulators) -> None:
    azure.write_conf(**{"AZURE.SUBSCRIPTION ID": ""})
    with pytest.raises(ConfigError, match=r"\[AZURE\] SUBSCRIPTION ID is not set"):
        get_provider("azure", load_settings()).check_ready()


def test_no_secret_in_state_or_json(azure: AzureEmulators, state_dir, capsys) -> None:
    from tests.emulators.azure.azurite_process import ACCOUNT_KEY

    azure.write_conf(**{"AZURE.CERTIFICATE PATH": "", "AZURE.CERT DATA PATH": str(azure.client.pfx),
                        "AZURE.CERT PASSWORD": azure.client.password})
    assert main(["cluster", "create", "--name", "secrets", "--size", "1", "--provision-only", "--json"]) == 0
    assert main(["nodes", "list", "secrets", "--json"]) == 0
    out = capsys.readouterr()
    stored = b"".join(p.read_bytes() for p in state_dir.rglob("*") if p.is_file())
    for secret in (azure.client.password, ACCOUNT_KEY):
        assert secret not in out.out + out.err and secret.encode() not in stored
    assert main(["cluster", "terminate", "secrets"]) == 0
