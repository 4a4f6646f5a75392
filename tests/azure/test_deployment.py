"""How a launch becomes ARM template deployments: batches of alike nodes as copy loops, and the
ARM fake's reading of the template language (what the real engine would refuse, it refuses)."""

from __future__ import annotations

import pytest

from elastichpc.providers import NodePlan
from elastichpc.providers.azure.deployment import MAX_NODES, batches
from tests.emulators.azure import arm_templates

GROUP = "/subscriptions/s/resourceGroups/g"


def plan(name: str, role: str = "compute", size: str = "Standard_B2s", spot: bool = False,
         script: str = "#!/bin/bash\n") -> NodePlan:
    return NodePlan(name=name, role=role, instance_type=size, boot_script=script, spot=spot,
                    ssh_public_key="ssh-ed25519 AAAA")


def test_alike_consecutive_nodes_are_one_batch() -> None:
    plans = [plan("c-head", "head", script="head"), *(plan(f"c-node{i}") for i in range(1, 6)),
             plan("c-node6", spot=True), plan("c-node7", spot=True), plan("c-node9", spot=True)]
    found = [(b.prefix, b.first, len(b.plans)) for b in batches(plans)]
    assert found == [("c-head", -1, 1), ("c-node", 1, 5), ("c-node", 6, 2), ("c-node", 9, 1)]


def test_a_batch_never_exceeds_what_one_deployment_holds() -> None:
    plans = [plan(f"c-node{i}") for i in range(1, MAX_NODES + 3)]
    assert [len(b.plans) for b in batches(plans)] == [MAX_NODES, 2]


def test_copy_loops_unroll_in_dependency_waves() -> None:
    node = "concat(parameters('prefix'), copyIndex(3))"
    nic = f"resourceId('Microsoft.Network/networkInterfaces', concat({node}, '-nic'))"
    template = {
        "$schema": "x", "contentVersion": "1.0.0.0",
        "parameters": {"prefix": {"type": "string"}},
        "resources": [
            {"type": "Microsoft.Network/networkInterfaces", "name": f"[concat({node}, '-nic')]",
             "copy": {"name": "nics", "count": 2}, "properties": {}},
            {"type": "Microsoft.Compute/virtualMachines", "name": f"[{node}]",
             "dependsOn": ["nics"], "copy": {"name": "vms", "count": 2},
             "properties": {"nic": f"[{nic}]", "literal": "[[not an expression]"}},
        ],
    }
    waves = arm_templates.expand(template, {"prefix": {"value": "c-node"}}, GROUP)
    assert [[rid.rsplit("/", 1)[1] for rid, _, _ in wave] for wave in waves] == [
        ["c-node3-nic", "c-node4-nic"], ["c-node3", "c-node4"]]
    vm = waves[1][1][2]
    assert vm["properties"] == {
        "nic": f"{GROUP}/providers/Microsoft.Network/networkInterfaces/c-node4-nic",
        "literal": "[not an expression]"}


@pytest.mark.parametrize(("name", "parameters", "says"), [
    ("[copyIndex()]", {}, "copyIndex' is not expected"),
    ("[parameters('nope')]", {}, "parameter 'nope' is not found"),
    ("[reference('x')]", {}, "function 'reference' is not valid"),
    ("[concat('a', 'b']", {}, "ends too early"),
    ("a", {"extra": {"value": 1}}, "'extra' are not valid"),
])
def test_a_bad_template_is_refused_as_arm_does(name: str, parameters: dict, says: str) -> None:
    template = {"$schema": "x", "contentVersion": "1.0.0.0", "resources": [
        {"type": "Microsoft.Network/networkInterfaces", "name": name, "properties": {}}]}
    with pytest.raises(arm_templates.TemplateError, match=says):
        arm_templates.expand(template, parameters, GROUP)
