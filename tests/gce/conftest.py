"""The GCE emulator on a free loopback port for each test, and ehpc pointed at it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from elastichpc.config import Settings, load_settings
from elastichpc.providers import get_provider
from elastichpc.providers.base import Provider
from tests.emulators.gce import Emulator, EmulatorServer

# google-auth must never look for a metadata server off this machine: these are read when
# google.auth is first imported, so they are set before any test imports it.
os.environ["NO_GCE_CHECK"] = "true"
os.environ["GCE_METADATA_HOST"] = os.environ["GCE_METADATA_IP"] = "127.0.0.1:9"

PROJECT = "ehpc-test"
ZONE = "us-central1-a"
CALLER = "192.0.2.0/24"  # TEST-NET-1: the caller's range the SSH rule opens


@pytest.fixture
def gce_server(state_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorServer]:
    server = EmulatorServer().start()
    monkeypatch.setenv("EHPC_GCE_ENDPOINT", server.url)
    monkeypatch.setenv("EHPC_CALLER_CIDR", CALLER)
    monkeypatch.setenv("HOME", str(tmp_path))  # no gcloud configuration of the machine's user
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    yield server
    server.stop()


@pytest.fixture
def gce(gce_server: EmulatorServer) -> Emulator:
    return gce_server.emulator


def gce_settings(**extra: Any) -> Settings:
    """[CLUSTER] PROVIDER gce in the test project; keys as (SECTION, KEY) = value via extra."""
    overrides = {("CLUSTER", "PROVIDER"): "gce", ("GCE", "PROJECT_ID"): PROJECT}
    for name, value in extra.items():
        section, key = name.split("__", 1)
        overrides[(section.upper(), key)] = str(value)
    return load_settings(None, overrides)


def gce_provider(**extra: Any) -> Provider:
    return get_provider("gce", gce_settings(**extra))
