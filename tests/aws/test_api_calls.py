"""A create makes the same number of EC2 API calls for 1, 10 or 100 compute nodes."""

from __future__ import annotations

from collections import Counter
from typing import Any

from elastichpc.config import load_spec
from elastichpc.orchestration.create import create_cluster
from elastichpc.orchestration.fleet import Fleet
from elastichpc.orchestration.plan import plan_nodes
from elastichpc.orchestration.terminate import terminate_cluster
from elastichpc.providers import get_provider, no_report
from elastichpc.remote import ClusterKeys
from elastichpc.state import Journal

from .conftest import REGION


def spec_for(name: str, size: int, image: str) -> Any:
    return load_spec(overrides={
        ("CLUSTER", "PROVIDER"): "aws", ("CLUSTER", "CLUSTER_PREFIX"): name,
        ("CLUSTER", "CLUSTER SIZE"): str(size), ("AWS", "REGION"): REGION,
        ("IMAGE", "AWS_IMAGE_ID"): image, ("AWS", "INSTANCE TYPE"): "t3.micro",
    })


def counted_launch(name: str, size: int, image: str) -> Counter[str]:
    """The provider's launch with a botocore before-call hook counting every operation."""
    spec = spec_for(name, size, image)
    fleet = Fleet(spec)
    provider = fleet.head
    calls: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    provider.ec2.meta.events.register("before-call.ec2", count)
    plans = plan_nodes(spec, fleet, ClusterKeys(Journal().cluster_dir(name), name))
    machines = provider.launch(spec, plans, no_report)
    assert len(machines) == size + 1 and all(m.state == "running" for m in machines)
    return calls


def test_launch_calls_do_not_grow_with_n(aws_env, image) -> None:
    counts = {n: counted_launch(f"calls{n}", n, image) for n in (1, 10, 100)}
    assert counts[1]["RunInstances"] == 2  # the head, and every compute node in one call
    assert counts[1] == counts[10] == counts[100], counts
    for n in counts:
        terminate_cluster(f"calls{n}", provider_name="aws", settings=spec_for(f"calls{n}", 1, image).settings)


def test_whole_create_calls_do_not_grow_with_n(aws_env, image) -> None:
    """The same, seen on the wire by the proxy, for the whole `create --provision-only`."""
    proxy = aws_env
    seen = {}
    for n in (1, 100):
        proxy.faults.calls.clear()
        create_cluster(spec_for(f"wire{n}", n, image), provision_only=True)
        seen[n] = Counter(proxy.faults.calls)
        assert len(get_provider("aws", spec_for(f"wire{n}", n, image).settings).machines(f"wire{n}")) == n + 1
        terminate_cluster(f"wire{n}")
    # Pricing asks the Price List once per type (the head's, the compute nodes'); the prices
    # are then in the journal for the next create, which asks nothing.
    assert seen[1]["GetProducts"] == 2 and "GetProducts" not in seen[100], seen
    del seen[1]["GetProducts"]
    assert seen[1] == seen[100], seen
