"""The Google Compute Engine provider. This package (and with it google-cloud-compute) is
imported only when a GCE cluster or disk is used, never for `ehpc --help`."""

from ...errors import PrerequisiteError

try:
    import google.cloud.compute_v1  # noqa: F401
except ImportError:
    raise PrerequisiteError(
        "the GCE provider needs google-cloud-compute: pip install 'elastichpc[gce]'"
    ) from None

from .provider import GceProvider as PROVIDER_CLASS

__all__ = ["PROVIDER_CLASS"]
