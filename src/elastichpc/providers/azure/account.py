"""Where ehpc talks to Azure and as whom: endpoints, subscription, credential.

Credentials: the guide's certificate files sign in as a service principal (`CERTIFICATE PATH`,
a .pem with key and certificate, or `CERT DATA PATH`, a .pfx opened with `CERT PASSWORD`), which
needs `TENANT ID` and `CLIENT ID`. Without certificate files, DefaultAzureCredential (environment,
workload or managed identity, `az login`...). The classic management certificate (`THUMBPRINT`,
`PKFILE`) is retired by Azure: accepted with a one-line warning and not used.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...config import Settings
from ...errors import ConfigError
from . import catalog

PUBLIC_ARM = "https://management.azure.com"


def _setting(settings: Settings, key: str, env: str) -> str:
    return str(settings.get("AZURE", key) or os.environ.get(env) or "")


@dataclass(frozen=True)
class AzureAccount:
    subscription: str
    region: str
    arm_endpoint: str
    ca_bundle: str  # "" = the system's trust store
    authority: str  # "" = Azure's public sign-in host
    blob_endpoint: str  # of STORAGE ACCOUNT; "" when no account is set
    storage_account: str
    container: str

    @classmethod
    def from_settings(cls, settings: Settings) -> AzureAccount:
        account = str(settings.get("AZURE", "STORAGE ACCOUNT") or "")
        blob = _setting(settings, "BLOB_ENDPOINT", "EHPC_AZURE_BLOB_ENDPOINT")
        if not blob and account:
            blob = f"https://{account}.blob.core.windows.net"
        ca_bundle = _setting(settings, "CA_BUNDLE", "EHPC_AZURE_CA_BUNDLE")
        if ca_bundle and not Path(ca_bundle).is_file():
            raise ConfigError(f"[AZURE] CA_BUNDLE {ca_bundle!r} is not a readable file")
        return cls(
            subscription=str(settings.require("AZURE", "SUBSCRIPTION ID")),
            region=catalog.region(settings.get("AZURE", "REGION")),
            arm_endpoint=(
                _setting(settings, "ARM_ENDPOINT", "EHPC_AZURE_ENDPOINT") or PUBLIC_ARM
            ).rstrip("/"),
            ca_bundle=ca_bundle,
            authority=_setting(settings, "AUTHORITY_HOST", "EHPC_AZURE_AUTHORITY").rstrip("/"),
            blob_endpoint=blob.rstrip("/"),
            storage_account=account,
            container=str(settings.get("AZURE", "CONTAINER") or ""),
        )

    @property
    def transport_options(self) -> dict[str, Any]:
        """Keyword arguments every SDK client and credential gets."""
        options: dict[str, Any] = {}
        if self.ca_bundle:
            options["connection_verify"] = self.ca_bundle
        return options

    def blob_url(self, name: str) -> str:
        """A VHD given as a URL stays one; a bare blob name is looked up in STORAGE ACCOUNT/CONTAINER."""
        if "://" in name:
            return name
        if not (self.blob_endpoint and self.container):
            raise ConfigError(
                f"VHD {name!r} is not a URL: set [AZURE] STORAGE ACCOUNT and CONTAINER, or give the "
                "blob's full https:// URL"
            )
        return f"{self.blob_endpoint}/{self.container}/{name.lstrip('/')}"


def warn_retired(settings: Settings) -> None:
    for key in ("THUMBPRINT", "PKFILE"):
        if settings.get("AZURE", key):
            print(f"ehpc: warning: [AZURE] {key} belongs to Azure's retired classic management "
                  "certificates and is ignored; ehpc signs in with CERTIFICATE PATH / CERT DATA PATH "
                  "as a service principal, or with DefaultAzureCredential", file=sys.stderr)


def check_credentials(settings: Settings) -> tuple[str, str]:
    """(certificate file, password) when certificate sign-in is configured, else ("", "")."""
    pfx = str(settings.get("AZURE", "CERT DATA PATH") or "")
    pem = str(settings.get("AZURE", "CERTIFICATE PATH") or "")
    path = pfx or pem
    if not path:
        return "", ""
    which = "CERT DATA PATH" if pfx else "CERTIFICATE PATH"
    for key in ("TENANT ID", "CLIENT ID"):
        if not settings.get("AZURE", key):
            raise ConfigError(
                f"[AZURE] {which} signs in as a service principal, which needs [AZURE] {key}: add it "
                "(the app registration holding that certificate)"
            )
    if not Path(path).is_file():
        raise ConfigError(f"[AZURE] {which} {path!r} is not a readable file")
    return path, str(settings.get("AZURE", "CERT PASSWORD") or "") if pfx else ""


def make_credential(settings: Settings, account: AzureAccount) -> Any:
    from azure.identity import CertificateCredential, DefaultAzureCredential

    path, password = check_credentials(settings)
    options = dict(account.transport_options)
    if account.authority:
        # A sign-in host of our own: never ask Microsoft's instance discovery about it.
        options.update(authority=account.authority, disable_instance_discovery=True)
    if not path:
        return DefaultAzureCredential(**options)
    try:
        return CertificateCredential(
            settings.get("AZURE", "TENANT ID"), settings.get("AZURE", "CLIENT ID"),
            certificate_path=path, password=password or None, **options,
        )
    except (ValueError, TypeError):
        raise ConfigError(
            f"cannot read the certificate {path}: a .pem must hold the private key and the "
            "certificate; a .pfx needs the right [AZURE] CERT PASSWORD"
        ) from None
