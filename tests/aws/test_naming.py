"""Node names of instances launched many per call, and EC2 instance shapes read as Machines."""

from __future__ import annotations

from elastichpc.providers.aws.instances import to_machine
from elastichpc.providers.aws.tags import name_runs, node_name, range_label


def test_batches_are_runs_of_consecutive_names() -> None:
    names = ["c-head", "c-node1", "c-node2", "c-node3", "c-node5", "c-node10", "c-node11"]
    runs = name_runs(names)
    assert runs == [["c-head"], ["c-node1", "c-node2", "c-node3"], ["c-node5"], ["c-node10", "c-node11"]]
    labels = [range_label(run) for run in runs]
    assert labels == ["c-head", "c-node[1-3]", "c-node5", "c-node[10-11]"]
    assert [node_name("c-node[10-11]", i) for i in (0, 1)] == ["c-node10", "c-node11"]
    assert node_name("c-head", 0) == "c-head"


def test_interrupted_spot_instance_is_preempted() -> None:
    """The shape EC2 returns for a spot instance it reclaimed (moto cannot interrupt one)."""
    instance = {
        "InstanceId": "i-0abc", "AmiLaunchIndex": 2, "InstanceType": "t3.micro",
        "State": {"Name": "terminated"}, "InstanceLifecycle": "spot",
        "SpotInstanceRequestId": "sir-1", "PrivateIpAddress": "172.31.0.9",
        "StateReason": {"Code": "Server.SpotInstanceTermination", "Message": "outbid"},
        "Placement": {"AvailabilityZone": "eu-west-1b"},
        "Tags": [{"Key": "ehpc-node", "Value": "c-node[4-6]"}, {"Key": "ehpc-role", "Value": "compute"}],
    }
    machine = to_machine(instance, "ubuntu")
    assert (machine.name, machine.state, machine.spot, machine.address) == ("c-node6", "preempted", True, "")
    assert machine.extra == {"instance_type": "t3.micro", "zone": "eu-west-1b", "spot_request": "sir-1"}
    instance["State"] = {"Name": "shutting-down"}
    del instance["StateReason"]
    assert to_machine(instance, "ubuntu").state == "terminated"
