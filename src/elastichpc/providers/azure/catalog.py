"""The guide's Azure names (classic sizes and region codes) mapped to today's.

| guide size  | classic shape       | current size      | shape          |
|-------------|---------------------|-------------------|----------------|
| ExtraSmall  | A0: 1 shared, 0.75G | Standard_B1s      | 1 vCPU, 1 GiB  |
| Small       | A1: 1 core, 1.75G   | Standard_B1ms     | 1 vCPU, 2 GiB  |
| Medium      | A2: 2 cores, 3.5G   | Standard_B2s      | 2 vCPU, 4 GiB  |
| Large       | A3: 4 cores, 7G     | Standard_F4s_v2   | 4 vCPU, 8 GiB  |
| ExtraLarge  | A4: 8 cores, 14G    | Standard_F8s_v2   | 8 vCPU, 16 GiB |
| A5          | 2 cores, 14G        | Standard_E2s_v5   | 2 vCPU, 16 GiB |
| A6          | 4 cores, 28G        | Standard_E4s_v5   | 4 vCPU, 32 GiB |
| A7          | 8 cores, 56G        | Standard_E8s_v5   | 8 vCPU, 64 GiB |

Any current size name (`Standard_...`) passes through unchanged. Regions: the guide's codes
(`WUS`), display names (`West US`) and ARM names (`westus`) are all accepted.
"""

from __future__ import annotations

import re

from ...errors import ConfigError

GUIDE_SIZES = {
    "ExtraSmall": "Standard_B1s",
    "Small": "Standard_B1ms",
    "Medium": "Standard_B2s",
    "Large": "Standard_F4s_v2",
    "ExtraLarge": "Standard_F8s_v2",
    "A5": "Standard_E2s_v5",
    "A6": "Standard_E4s_v5",
    "A7": "Standard_E8s_v5",
}
_SIZE_BY_KEY = {guide.lower(): current for guide, current in GUIDE_SIZES.items()}

GUIDE_REGIONS = {  # the classic portal's short codes
    "wus": "westus", "wus2": "westus2", "eus": "eastus", "eus2": "eastus2", "cus": "centralus",
    "ncus": "northcentralus", "scus": "southcentralus", "neu": "northeurope", "weu": "westeurope",
    "eas": "eastasia", "sea": "southeastasia", "jpe": "japaneast", "jpw": "japanwest",
    "brs": "brazilsouth", "aue": "australiaeast", "ause": "australiasoutheast",
}


def vm_size(name: str) -> str:
    """`Small` -> `Standard_B1ms`; `Standard_D4s_v5` unchanged."""
    text = name.strip()
    mapped = _SIZE_BY_KEY.get(text.lower().replace(" ", ""))
    if mapped:
        return mapped
    if re.fullmatch(r"(Standard|Basic)_[A-Za-z0-9_]+", text):
        return text
    raise ConfigError(
        f"unknown Azure VM size {name!r}: use a size such as Standard_D2s_v5, or one of the "
        f"guide's names ({', '.join(GUIDE_SIZES)})"
    )


def region(name: str) -> str:
    """`WUS`, `West US` or `westus` -> `westus`."""
    key = re.sub(r"\s+", "", name.strip().lower())
    if key in GUIDE_REGIONS:
        return GUIDE_REGIONS[key]
    if re.fullmatch(r"[a-z]+[0-9]?", key):
        return key
    raise ConfigError(f"[AZURE] REGION {name!r} is not an Azure region (e.g. westus or WUS)")
