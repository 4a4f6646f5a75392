"""The ARM fake refuses what Azure refuses, so the provider's passing tests mean something."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from elastichpc.config import load_settings
from elastichpc.providers import get_provider
from tests.azure.conftest import SUBSCRIPTION, AzureEmulators


def _call(azure: AzureEmulators, method: str, path: str, body: dict | None = None,
          token: str = "") -> tuple[int, dict, dict]:
    import ssl

    request = urllib.request.Request(
        f"{azure.fake.endpoint}{path}", method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    context = ssl.create_default_context(cafile=str(azure.tls.ca))
    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context),
                                         urllib.request.ProxyHandler({}))
    try:
        with opener.open(request) as answer:
            return answer.status, json.loads(answer.read() or b"{}"), dict(answer.headers)
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}"), dict(err.headers)


def test_requests_without_a_token_from_the_token_endpoint_are_refused(azure: AzureEmulators) -> None:
    groups = f"/subscriptions/{SUBSCRIPTION}/resourcegroups?api-version=2022-09-01"
    status, body, _ = _call(azure, "GET", groups, token="made-up")
    assert status == 401 and body["error"]["code"] == "InvalidAuthenticationToken"


def test_fields_unknown_to_the_sdk_models_and_lros_as_arm(azure: AzureEmulators) -> None:
    get_provider("azure", load_settings()).machines("x")  # signs in: a real token
    token = next(iter(azure.fake.tokens))
    group = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/g1"
    assert _call(azure, "PUT", f"{group}?api-version=2022-09-01", {"location": "westus"}, token)[0] == 201
    nsg = f"{group}/providers/Microsoft.Network/networkSecurityGroups/n1?api-version=2024-05-01"
    status, body, _ = _call(azure, "PUT", nsg, {"location": "westus", "properties": {"securityRulez": []}},
                            token)
    assert status == 400 and "securityRulez" in body["error"]["message"]
    status, body, headers = _call(azure, "PUT", nsg, {"location": "westus", "properties": {}}, token)
    assert status == 201 and body["properties"]["provisioningState"] == "Creating"
    poll = headers["Azure-AsyncOperation"].removeprefix(azure.fake.endpoint)
    assert _call(azure, "GET", poll, token=token)[1] == {"status": "InProgress"}
    assert _call(azure, "GET", poll, token=token)[1] == {"status": "Succeeded"}
    status, _, headers = _call(azure, "DELETE", nsg, token=token)
    assert status == 202 and "Location" in headers


def test_a_vm_without_an_ssh_key_or_with_a_missing_nic_is_refused(azure: AzureEmulators) -> None:
    get_provider("azure", load_settings()).machines("x")
    token = next(iter(azure.fake.tokens))
    group = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/g2"
    _call(azure, "PUT", f"{group}?api-version=2022-09-01", {"location": "westus"}, token)
    vm = {"location": "westus", "properties": {
        "hardwareProfile": {"vmSize": "Standard_D2s_v5"},
        "storageProfile": {"imageReference": {"publisher": "p", "offer": "o", "sku": "s"}},
        "osProfile": {"computerName": "a", "adminUsername": "u"},
        "networkProfile": {"networkInterfaces": [
            {"id": f"{group}/providers/Microsoft.Network/networkInterfaces/nic"}]},
    }}
    url = f"{group}/providers/Microsoft.Compute/virtualMachines/a?api-version=2024-07-01"
    status, body, _ = _call(azure, "PUT", url, vm, token)
    assert status == 400 and "publicKeys" in body["error"]["message"]
    keys = {"publicKeys": [{"keyData": "ssh-ed25519 AAAA"}]}
    vm["properties"]["osProfile"]["linuxConfiguration"] = {"ssh": keys}
    status, body, _ = _call(azure, "PUT", url, vm, token)
    assert status == 404 and "Network interface" in body["error"]["message"]
