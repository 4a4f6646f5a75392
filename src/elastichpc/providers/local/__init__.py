"""The local provider: real nodes as Linux namespaces on this machine."""

from .provider import LocalProvider as PROVIDER_CLASS

__all__ = ["PROVIDER_CLASS"]
