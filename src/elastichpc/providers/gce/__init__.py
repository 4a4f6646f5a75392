"""The Google Compute Engine provider. This package (and with it google-cloud-compute) is
imported only when a GCE cluster or disk is used, never for `ehpc --help`."""

from ..sdk import require_sdk

require_sdk("GCE", "google.cloud.compute_v1", "gce")

from .provider import GceProvider as PROVIDER_CLASS  # noqa: E402 - after the SDK check

__all__ = ["PROVIDER_CLASS"]
