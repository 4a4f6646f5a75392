"""The guide's Azure size and region names mapped to current ones."""

from __future__ import annotations

import pytest

from elastichpc.errors import ConfigError
from elastichpc.providers.azure import catalog


@pytest.mark.parametrize(("guide", "current"), [
    ("Small", "Standard_B1ms"), ("ExtraLarge", "Standard_F8s_v2"), ("extra small", "Standard_B1s"),
    ("A7", "Standard_E8s_v5"), ("Standard_D4s_v5", "Standard_D4s_v5"),
])
def test_sizes(guide: str, current: str) -> None:
    assert catalog.vm_size(guide) == current


def test_unknown_size_names_the_guide_names() -> None:
    with pytest.raises(ConfigError, match=r"unknown Azure VM size 'Huge'.*ExtraLarge"):
        catalog.vm_size("Huge")


@pytest.mark.parametrize(("guide", "current"), [
    ("WUS", "westus"), ("West US", "westus"), ("westeurope", "westeurope"), ("NEU", "northeurope"),
    ("East US 2", "eastus2"),
])
def test_regions(guide: str, current: str) -> None:
    assert catalog.region(guide) == current


def test_bad_region() -> None:
    with pytest.raises(ConfigError, match="is not an Azure region"):
        catalog.region("west/us")


def test_the_provider_package_loads_no_azure_sdk() -> None:
    import subprocess
    import sys

    probe = ("import sys, elastichpc.providers.azure\n"
             "print(sorted(m for m in sys.modules if m.split('.')[0] == 'azure'))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
