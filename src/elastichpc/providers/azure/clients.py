"""The SDK clients (built on first use) and Azure's errors turned into one clear line."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import Any

from ...config import Settings
from ...errors import EhpcError, PrerequisiteError, ProviderError
from .account import AzureAccount, make_credential

# Refusals the user fixes (quota, a size the region lacks), not retries.
QUOTA_CODES = {"QuotaExceeded", "SkuNotAvailable", "ZonalAllocationFailed", "AllocationFailed",
               "OverconstrainedAllocationRequest"}


def resource_group_of(resource_id: str) -> str:
    parts = resource_id.split("/")
    lowered = [p.lower() for p in parts]
    return parts[lowered.index("resourcegroups") + 1]


def name_of(resource_id: str) -> str:
    return resource_id.rstrip("/").rsplit("/", 1)[1]


class AzureClients:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.account = AzureAccount.from_settings(settings)

    @cached_property
    def credential(self) -> Any:
        return make_credential(self.settings, self.account)

    def _options(self) -> dict[str, Any]:
        return {
            "base_url": self.account.arm_endpoint,
            "credential_scopes": [f"{self.account.arm_endpoint}/.default"],
            "polling_interval": 2,
            "retry_policy": throttle_retry(),
            **self.account.transport_options,
        }

    @cached_property
    def compute(self) -> Any:
        from azure.mgmt.compute import ComputeManagementClient

        return ComputeManagementClient(self.credential, self.account.subscription, **self._options())

    @cached_property
    def network(self) -> Any:
        from azure.mgmt.network import NetworkManagementClient

        return NetworkManagementClient(self.credential, self.account.subscription, **self._options())

    @cached_property
    def resources(self) -> Any:
        from azure.mgmt.resource.resources import ResourceManagementClient

        return ResourceManagementClient(self.credential, self.account.subscription, **self._options())

    def blob(self, url: str) -> Any:
        """A BlobClient for a VHD: with STORAGE KEY when set, else the signed-in credential."""
        from azure.storage.blob import BlobClient

        key = self.settings.get("AZURE", "STORAGE KEY")
        account = self.account.storage_account or account_in_url(url)
        credential = {"account_name": account, "account_key": key} if key else self.credential
        return BlobClient.from_blob_url(url, credential=credential, **self.account.transport_options)

    def tagged(self, key: str, value: str | None = None) -> list[Any]:
        """Every resource (not group) carrying the tag, found by Azure's tag filter."""
        filter_ = f"tagName eq '{key}'" + (f" and tagValue eq '{value}'" if value is not None else "")
        return list(self.resources.resources.list(filter=filter_))


def throttle_retry() -> Any:
    """azure-core's retries, with two changes for ARM: more than its default 3 status retries
    (ARM throttles bursts such as many VMs at once with 429), and a 429 is retried whatever the
    method: a throttled PATCH (disk tags) or POST was refused before anything was done, while
    azure-core retries those only when a Retry-After header came with it."""
    from azure.core.pipeline.policies import RetryPolicy

    class ThrottleRetry(RetryPolicy):
        def is_retry(self, settings: dict[str, Any], response: Any) -> bool:
            if response.http_response.status_code == 429 and settings["total"]:
                return True
            return bool(super().is_retry(settings, response))

    return ThrottleRetry(retry_status=8)


def account_in_url(url: str) -> str:
    host = url.split("://", 1)[-1].split("/", 1)[0]
    if host.endswith(".blob.core.windows.net"):
        return host.split(".", 1)[0]
    return url.split("://", 1)[-1].split("/")[1]  # emulator style: host:port/account/container/blob


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


@contextmanager
def azure_errors(action: str, endpoint: str = "") -> Iterator[None]:
    """Azure SDK exceptions -> one-line EhpcErrors naming what was being done."""
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ServiceRequestError,
    )

    try:
        yield
    except EhpcError:
        raise
    except ClientAuthenticationError as err:
        message = _one_line(getattr(err, "message", "") or err).split(" Code:")[0]
        raise PrerequisiteError(f"Azure sign-in failed while {action}: {message[:300]}") from None
    except ServiceRequestError as err:
        raise ProviderError(f"cannot reach Azure at {endpoint or 'its endpoint'} while {action}: "
                            f"{_one_line(err)[:200]}") from None
    except HttpResponseError as err:
        code = getattr(err.error, "code", None) or ""
        message = getattr(err.error, "message", None) or err.reason or str(err)
        if err.status_code == 429:
            raise ProviderError(f"Azure kept throttling requests while {action} (429 after retries); "
                                "try again in a few minutes") from None
        kind = PrerequisiteError if code in QUOTA_CODES or "quota" in message.lower() else ProviderError
        raise kind(f"Azure refused {action}: {code or err.status_code}: {_one_line(message)[:300]}") from None
