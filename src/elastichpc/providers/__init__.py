"""Providers, loaded by name only when used (cloud SDKs never load for `ehpc --help`)."""

from __future__ import annotations

import importlib

from ..config import PROVIDERS, Settings
from ..errors import ConfigError
from .base import (
    TAG,
    Disk,
    Machine,
    NodePlan,
    Provider,
    Report,
    Snapshot,
    SpotPrice,
    SpotRequest,
    no_report,
)


def get_provider(name: str, settings: Settings) -> Provider:
    if name not in PROVIDERS:
        raise ConfigError(f"unknown provider {name!r}: expected one of {', '.join(PROVIDERS)}")
    module = importlib.import_module(f"elastichpc.providers.{name}")
    provider: Provider = module.PROVIDER_CLASS(settings)
    return provider


__all__ = [
    "TAG",
    "Disk",
    "Machine",
    "NodePlan",
    "Provider",
    "Report",
    "Snapshot",
    "SpotPrice",
    "SpotRequest",
    "get_provider",
    "no_report",
]
