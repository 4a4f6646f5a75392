"""The Azure provider: Resource Manager VMs, networks and managed disks; Blob storage for VHDs.

The Azure SDKs are imported inside the functions that use them, never when this package loads.
"""

from .provider import AzureProvider as PROVIDER_CLASS

__all__ = ["PROVIDER_CLASS"]
