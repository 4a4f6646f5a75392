"""Create, list and terminate Azure clusters against the ARM fake (provision only: no SSH)."""

from __future__ import annotations

import base64

from elastichpc.config import load_spec
from elastichpc.orchestration.create import create_cluster
from elastichpc.orchestration.terminate import terminate_cluster
from elastichpc.providers import TAG, get_provider
from tests.azure.conftest import AzureEmulators


def test_create_list_terminate(azure: AzureEmulators) -> None:
    spec = load_spec(overrides={("CLUSTER", "CLUSTER_PREFIX"): "az1", ("CLUSTER", "CLUSTER SIZE"): "2"})
    context = create_cluster(spec, provision_only=True)
    assert context.row.status == "provisioned"
    provider = get_provider("azure", spec.settings)
    machines = provider.machines("az1")
    assert [m.name for m in machines] == ["az1-head", "az1-node1", "az1-node2"]
    assert all(m.state == "running" for m in machines)
    assert machines[0].address and not machines[1].address
    assert azure.fake.tagged(TAG, "az1")
    removed = terminate_cluster("az1")
    assert "resource group ehpc-az1" in removed
    assert azure.fake.tagged(TAG, "az1") == []
    assert base64  # placeholder
