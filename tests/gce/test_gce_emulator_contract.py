"""The emulator is held to the official API description: every route it serves is in the
compute.v1.json discovery document shipped with google-api-python-client (same method id, HTTP
method and path), and every answer it gives (and every request body ehpc sends it) parses
strictly into the google.cloud.compute_v1 type that document names for the method."""

from __future__ import annotations

import json
from pathlib import Path

import googleapiclient
import pytest
from google.api_core import exceptions
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import compute_v1
from google.protobuf.json_format import ParseError

from elastichpc.config import build_spec
from elastichpc.orchestration.create import create_cluster
from elastichpc.providers import TAG
from elastichpc.providers.preview import MachineGroup
from tests.emulators.gce import Emulator, EmulatorServer
from tests.emulators.gce.routes import ROUTES
from tests.emulators.gce.server import PREFIX

from .conftest import PROJECT, ZONE, gce_provider, gce_settings

DISCOVERY = Path(googleapiclient.__file__).parent / "discovery_cache/documents/compute.v1.json"


def discovery_methods() -> dict[str, dict]:
    document = json.loads(DISCOVERY.read_text())
    assert "/" + document["servicePath"] == PREFIX
    methods = {}
    for resource in document["resources"].values():
        for method in resource.get("methods", {}).values():
            methods[method["id"]] = method
    return methods


def test_every_route_is_in_the_discovery_document() -> None:
    methods = discovery_methods()
    assert len(methods) > 500  # the whole API, not a stub
    for route in ROUTES:
        official = methods.get(route.method_id)
        assert official is not None, f"{route.method_id} is not a Compute Engine method"
        assert (route.http_method, route.template) == (official["httpMethod"], official["path"]), route


def exercise_every_route(gce: Emulator, server: EmulatorServer) -> None:
    """A cluster, spot preemption, disks and snapshots, a dry run's reads, and terminate,
    through ehpc's provider;
    the few calls ehpc never makes (operation get/list, zones.get) through the SDK."""
    gce.set_operation_delay(0.05)  # operations start RUNNING: ehpc waits on them
    spec = build_spec(gce_settings(CLUSTER__CLUSTER_SIZE=2, CLUSTER__SPOT="true"), name="contract")
    create_cluster(spec, provision_only=True)
    gce.preempt(PROJECT, ZONE, "contract-node1")
    provider = gce_provider()
    head = next(m for m in provider.machines("contract") if m.role == "head")
    gce.print_serial(PROJECT, ZONE, "contract-head", "booted\n")
    assert provider.console_output(head) == "booted\n"
    disk = provider.create_disk("data1", 10, cluster="contract")
    provider.snapshot_disk(disk.disk_id, "snap1")
    provider.create_disk("data2", None, cluster="contract", snapshot="snap1")
    provider.attach_disk(disk.disk_id, head)
    assert [d.name for d in provider.disks("contract")] == ["data1", "data2"]
    assert [s.name for s in provider.snapshots()] == ["snap1"]
    provider.detach_disk(disk.disk_id)
    provider.delete_snapshot("snap1")

    options = ClientOptions(api_endpoint=server.url)
    anonymous = AnonymousCredentials()
    zone_ops = compute_v1.ZoneOperationsClient(credentials=anonymous, transport="rest",
                                               client_options=options)
    listed = list(zone_ops.list(project=PROJECT, zone=ZONE))
    zone_ops.get(project=PROJECT, zone=ZONE, operation=listed[0].name)
    firewall_op = next(r for r in gce.requests("firewalls.insert"))
    compute_v1.GlobalOperationsClient(credentials=anonymous, transport="rest", client_options=options).get(
        project=PROJECT, operation=firewall_op.body["name"])
    compute_v1.ZonesClient(credentials=anonymous, transport="rest", client_options=options).get(
        project=PROJECT, zone=ZONE)
    provider.preview(spec, [MachineGroup("head", "e2-standard-2", 1)])  # dry run's reads
    provider.terminate("contract", lambda _: None)
    assert gce.labelled(TAG, "contract") == []


def test_every_answer_parses_strictly_into_the_official_types(gce_server: EmulatorServer) -> None:
    gce = gce_server.emulator
    exercise_every_route(gce, gce_server)
    methods = discovery_methods()
    answered = gce.requests()
    assert {r.method_id for r in answered} >= {route.method_id for route in ROUTES}, "a route went untested"
    for recorded in answered:
        assert recorded.status == 200, recorded
        type_name = methods[recorded.method_id]["response"]["$ref"]
        message_type = getattr(compute_v1, type_name)
        message_type.from_json(json.dumps(recorded.body), ignore_unknown_fields=False)
        if recorded.request:  # what ehpc sent is also the official request type, strictly
            request_type = getattr(compute_v1, methods[recorded.method_id]["request"]["$ref"])
            request_type.from_json(json.dumps(recorded.request), ignore_unknown_fields=False)


def test_the_strict_parse_refuses_what_the_api_does_not_define() -> None:
    with pytest.raises(ParseError, match="instanceName"):
        compute_v1.Instance.from_json(json.dumps({"name": "a", "instanceName": "a"}),
                                      ignore_unknown_fields=False)


def test_errors_have_the_service_shape(gce: Emulator, gce_server: EmulatorServer) -> None:
    client = compute_v1.InstancesClient(credentials=AnonymousCredentials(), transport="rest",
                                        client_options=ClientOptions(api_endpoint=gce_server.url))
    with pytest.raises(exceptions.NotFound) as caught:
        client.get(project=PROJECT, zone=ZONE, instance="nope")
    assert caught.value.message.endswith(
        f": The resource 'projects/{PROJECT}/zones/{ZONE}/instances/nope' was not found")
    assert caught.value.errors[0]["reason"] == "notFound"
