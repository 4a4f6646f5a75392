"""Tags: how every AWS resource of a cluster is marked, and how nodes are named from tags.

A launch call makes several instances with the same tags, so a batch of compute nodes carries
the range of names it holds (`demo-node[3-7]`, as Slurm writes host lists) and each instance is
the node at its AmiLaunchIndex in that range. A single node carries its plain name.
"""

from __future__ import annotations

import re
from typing import Any

from ..base import TAG

NODE_TAG = "ehpc-node"
ROLE_TAG = "ehpc-role"
_RANGE = re.compile(r"^(?P<prefix>.*?)\[(?P<first>\d+)-(?P<last>\d+)\]$")
_NUMBERED = re.compile(r"^(?P<prefix>.*?)(?P<number>\d+)$")


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def tag_dict(resource: dict[str, Any]) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in resource.get("Tags", [])}


def cluster_tags(cluster: str, **extra: str) -> dict[str, str]:
    return {TAG: cluster, **extra}


def specs(resource_types: list[str], tags: dict[str, str]) -> list[dict[str, Any]]:
    """TagSpecifications for the given resource types (e.g. instance and its volumes)."""
    return [{"ResourceType": kind, "Tags": tag_list(tags)} for kind in resource_types]


def cluster_filter(cluster: str) -> dict[str, Any]:
    return {"Name": f"tag:{TAG}", "Values": [cluster]}


def name_runs(names: list[str]) -> list[list[str]]:
    """Split names into runs that one range label can hold: `x-node3, x-node4` but not `x-head`."""
    runs: list[list[str]] = []
    for name in names:
        match = _NUMBERED.match(name)
        if runs and match:
            last = _NUMBERED.match(runs[-1][-1])
            if last and last["prefix"] == match["prefix"] and int(last["number"]) + 1 == int(
                match["number"]
            ):
                runs[-1].append(name)
                continue
        runs.append([name])
    return runs


def range_label(run: list[str]) -> str:
    """`demo-node[1-4]` for a run of numbered names, the name itself for one node."""
    if len(run) == 1:
        return run[0]
    first, last = _NUMBERED.match(run[0]), _NUMBERED.match(run[-1])
    assert first and last  # name_runs only groups numbered names
    return f"{first['prefix']}[{first['number']}-{last['number']}]"


def node_name(label: str, launch_index: int) -> str:
    match = _RANGE.match(label)
    if not match:
        return label
    return f"{match['prefix']}{int(match['first']) + launch_index}"
