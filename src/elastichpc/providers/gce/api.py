"""google-cloud-compute over its REST transport: clients, retries, operations, clear errors.

Every client is built with the same credentials and client options, so that another endpoint
(an emulator) is used for everything, operations included: the library's own
`ExtendedOperation.result()` would poll the real endpoint, so operations are waited for here
through ZoneOperationsClient / GlobalOperationsClient `wait`.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from functools import cached_property
from typing import Any, TypeVar

from google.api_core import exceptions as gexc
from google.api_core.client_options import ClientOptions
from google.auth import exceptions as auth_exc
from google.cloud import compute_v1

from ...errors import EhpcError, PrerequisiteError, ProviderError

T = TypeVar("T")
RETRIABLE = (gexc.TooManyRequests, gexc.ServiceUnavailable, gexc.InternalServerError, gexc.BadGateway)
RATE_REASONS = ("rateLimitExceeded", "userRateLimitExceeded")
ATTEMPTS = 6  # waits 0.2, 0.4, 0.8, 1.6, 3.2 s between them
OPERATION_TIMEOUT = 600.0
REQUEST_PREFIX = re.compile(r"^(GET|POST|PUT|PATCH|DELETE) \S+: ")


def _reasons(error: gexc.GoogleAPICallError) -> list[str]:
    return [e.get("reason", "") for e in (error.errors or []) if isinstance(e, dict)]


def _retriable(error: Exception) -> bool:
    if isinstance(error, RETRIABLE):
        return True
    return isinstance(error, gexc.Forbidden) and any(r in RATE_REASONS for r in _reasons(error))


def describe(error: gexc.GoogleAPICallError, what: str) -> EhpcError:
    """One line for a refused request; quota and credentials are the user's to fix."""
    message = REQUEST_PREFIX.sub("", error.message or str(error))  # "GET https://...: " goes
    if isinstance(error, gexc.Unauthorized):
        return PrerequisiteError(f"GCE refused the credentials ({what}): {message}")
    if isinstance(error, gexc.Forbidden) and "quotaExceeded" in _reasons(error):
        return PrerequisiteError(f"GCE quota exceeded ({what}): {message}")
    if isinstance(error, gexc.Forbidden):
        return PrerequisiteError(f"GCE denied {what}: {message}")
    return ProviderError(f"GCE {what}: {message}")


class ComputeApi:
    """The Compute Engine clients of one project, with retries and operation waits."""

    def __init__(self, credentials: Any, endpoint: str, project: str) -> None:
        self.credentials = credentials
        self.options = ClientOptions(
            api_endpoint=endpoint, universe_domain=getattr(credentials, "universe_domain", None)
        ) if endpoint else None
        self.project = project

    def _client(self, cls: Callable[..., T]) -> T:
        return cls(credentials=self.credentials, transport="rest", client_options=self.options)

    @cached_property
    def instances(self) -> compute_v1.InstancesClient:
        return self._client(compute_v1.InstancesClient)

    @cached_property
    def disks(self) -> compute_v1.DisksClient:
        return self._client(compute_v1.DisksClient)

    @cached_property
    def snapshots(self) -> compute_v1.SnapshotsClient:
        return self._client(compute_v1.SnapshotsClient)

    @cached_property
    def firewalls(self) -> compute_v1.FirewallsClient:
        return self._client(compute_v1.FirewallsClient)

    @cached_property
    def zone_operations(self) -> compute_v1.ZoneOperationsClient:
        return self._client(compute_v1.ZoneOperationsClient)

    @cached_property
    def global_operations(self) -> compute_v1.GlobalOperationsClient:
        return self._client(compute_v1.GlobalOperationsClient)

    def call(self, what: str, method: Callable[..., T], **kwargs: Any) -> T:
        """One API call, retried on rate limits and server errors, refused in one line."""
        for attempt in range(ATTEMPTS):
            try:
                return method(**kwargs)
            except gexc.GoogleAPICallError as error:
                if attempt == ATTEMPTS - 1 or not _retriable(error):
                    raise describe(error, what) from None
            except auth_exc.GoogleAuthError as error:
                raise PrerequisiteError(f"GCE credentials could not be used ({what}): {error}") from None
            except OSError:  # requests' connection errors: the endpoint does not answer
                if attempt == ATTEMPTS - 1:
                    where = self.options.api_endpoint if self.options else "compute.googleapis.com"
                    raise ProviderError(f"GCE {what}: cannot reach {where} (connection failed "
                                        f"{ATTEMPTS} times)") from None
            time.sleep(0.2 * 2**attempt)
        raise AssertionError("unreachable")

    def every(self, what: str, method: Callable[..., Any], request: Any) -> list[Any]:
        """Every item of a listing, all pages read inside one retried call."""
        return self.call(what, lambda: list(method(request=request)))

    def mutate(self, what: str, method: Callable[..., compute_v1.Operation], request: Any
               ) -> compute_v1.Operation:
        """A call that changes something, given its request message: a request id makes its
        retries safe (the service answers a repeated id with the first call's operation)."""
        request.request_id = str(uuid.uuid4())
        return self.call(what, method, request=request)

    def apply(self, what: str, method: Callable[..., compute_v1.Operation], request: Any) -> None:
        """mutate, then wait for the operation."""
        self.wait(what, self.mutate(what, method, request))

    def wait(self, what: str, operation: compute_v1.Operation) -> None:
        """Wait for an operation with our own clients; its error becomes one clear line."""
        deadline = time.monotonic() + OPERATION_TIMEOUT
        while operation.status != compute_v1.Operation.Status.DONE:
            if time.monotonic() > deadline:
                raise ProviderError(f"GCE {what}: operation {operation.name} not done after "
                                    f"{OPERATION_TIMEOUT:.0f}s")
            if operation.zone:
                operation = self.call(what, self.zone_operations.wait, project=self.project,
                                      zone=operation.zone.rsplit("/", 1)[-1], operation=operation.name)
            else:
                operation = self.call(what, self.global_operations.wait, project=self.project,
                                      operation=operation.name)
        errors = list(operation.error.errors) if operation.error else []
        if errors:
            message = "; ".join(e.message for e in errors)
            if any("QUOTA" in e.code for e in errors):
                raise PrerequisiteError(f"GCE quota exceeded ({what}): {message}")
            raise ProviderError(f"GCE {what} failed: {message}")
