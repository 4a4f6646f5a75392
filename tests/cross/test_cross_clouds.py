"""The guide's chapter 6 against the emulators: `[CROSS] AWS = 1, GCE = 2, AZURE = 1, MASTER =
aws` made with `--provision-only` (nothing may connect to an emulator's addresses here), every
node on its cloud and recorded with its provider, then terminate leaves nothing tagged on any."""

from __future__ import annotations

import json

import pytest

from elastichpc.cli.main import main
from elastichpc.config import load_settings
from elastichpc.errors import EhpcError
from elastichpc.orchestration.context import open_cluster
from elastichpc.orchestration.membership import add_nodes
from elastichpc.orchestration.progress import Progress
from elastichpc.providers import TAG
from tests.aws.conftest import moto_ec2

from .conftest import PROJECT, Clouds


def ehpc(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def nodes_of(gce) -> list[str]:  # type: ignore[no-untyped-def]
    return [link.rsplit("/", 1)[1] for link in gce.labelled(TAG, "plcross") if "/instances/" in link]


def test_cross_create_and_terminate(clouds: Clouds, gce, moto_url: str, capsys, monkeypatch,
                                    tmp_path) -> None:
    code, _, err = ehpc(capsys, "cluster", "create", "--cross", "--provision-only", "--config",
                        str(clouds.conf))
    assert code == 0, err
    code, out, err = ehpc(capsys, "nodes", "list", "plcross", "--json", "--config", str(clouds.conf))
    assert code == 0, err
    nodes = {n["name"]: n for n in json.loads(out)}
    assert {name: (n["provider"], n["pool"]) for name, n in nodes.items()} == {
        "plcross-head": ("aws", ""), "plcross-node1": ("aws", "aws"),
        "plcross-node2": ("gce", "gce"), "plcross-node3": ("gce", "gce"),
        "plcross-node4": ("azure", "azure")}
    assert {n["state"] for n in nodes.values()} == {"running"}
    assert nodes["plcross-node2"]["region"] == "us-central1-a"
    assert nodes_of(gce) == ["plcross-node2", "plcross-node3"]
    vms = [r for r in clouds.arm.find("Microsoft.Compute/virtualMachines")
           if (r.get("tags") or {}).get(TAG) == "plcross"]
    assert [vm["name"] for vm in vms] == ["plcross-node4"]

    # The head's security group lets the overlay's port in from the other nodes' public
    # addresses only, and from the Azure subnet's NAT gateway, where the Azure node's tunnel
    # comes from; every other rule is the caller's range or the group itself. The Azure node,
    # away from the head, has a public address (SSH brings it its overlay keys).
    (group,) = moto_ec2(moto_url).describe_security_groups(
        Filters=[{"Name": "group-name", "Values": ["ehpc-plcross"]}])["SecurityGroups"]
    udp = [p for p in group["IpPermissions"] if p["IpProtocol"] == "udp"]
    (nat,) = [ip["properties"]["ipAddress"] for ip in clouds.arm.find("Microsoft.Network/publicIPAddresses")
              if ip["name"] == "plcross-nat-ip"]
    publics = {nodes[f"plcross-node{i}"]["address"] for i in (1, 2, 3, 4)} | {nat}
    assert "" not in publics
    assert [(p["FromPort"], {r["CidrIp"] for r in p["IpRanges"]}) for p in udp] == [
        (51820, {f"{a}/32" for a in publics})]

    # No node can join an overlay that was never brought up: refused before anything is launched.
    context = open_cluster("plcross", settings=load_settings(clouds.conf))
    with pytest.raises(EhpcError, match="overlay of plcross is not up"):
        add_nodes(context, ["plcross-node5"], Progress(), place="gce")
    assert len(nodes_of(gce)) == 2

    # With the local state lost, terminate searches every cloud cluster.conf has an account of.
    monkeypatch.setenv("EHPC_STATE_DIR", str(tmp_path / "lost"))
    code, out, err = ehpc(capsys, "cluster", "terminate", "plcross", "--json", "--config", str(clouds.conf))
    assert code == 0, err
    removed = " ".join(json.loads(out)["removed"])
    assert all(part in removed for part in ("instance i-", "plcross-node2", "resource group ehpc-plcross"))
    assert gce.labelled(TAG, "plcross") == []
    assert [r["id"] for r in clouds.arm.resources.values() if (r.get("tags") or {}).get(TAG)] == []
    # (moto: the aws_env fixture fails the test if anything tagged is left there)


@pytest.mark.parametrize(("drop", "names"), [("SUBSCRIPTION ID", "AZURE"), ("PROJECT_ID", "GCE")])
def test_a_cloud_without_credentials_stops_the_create_before_anything(
        clouds: Clouds, gce, drop: str, names: str, capsys) -> None:
    text = clouds.conf.read_text()
    clouds.conf.write_text("\n".join(line for line in text.splitlines() if not line.startswith(drop)))
    code, _, err = ehpc(capsys, "cluster", "create", "--cross", "--provision-only", "--config",
                        str(clouds.conf))
    assert code != 0 and len(err.strip().splitlines()) == 1 and names in err, err
    assert gce.labelled(TAG, "plcross") == [] and clouds.arm.find("Microsoft.Compute/virtualMachines") == []
    code, out, _ = ehpc(capsys, "cluster", "list", "--json")
    assert code == 0 and "plcross" not in out


def test_a_head_on_gce_opens_the_overlay_port_to_the_other_nodes(clouds: Clouds, gce, capsys) -> None:
    conf = clouds.conf.read_text().replace("MASTER = aws", "MASTER = gce").replace("AZURE = 1", "AZURE = 0")
    clouds.conf.write_text(conf)
    code, _, err = ehpc(capsys, "cluster", "create", "--cross", "--provision-only", "--config",
                        str(clouds.conf))
    assert code == 0, err
    code, out, _ = ehpc(capsys, "nodes", "list", "plcross", "--json", "--config", str(clouds.conf))
    nodes = {n["name"]: n for n in json.loads(out)}
    assert nodes["plcross-head"]["provider"] == "gce"
    rule = gce.state.firewalls[(PROJECT, "ehpc-plcross-overlay")]
    others = {n["address"] + "/32" for n in nodes.values() if n["role"] == "compute"}
    assert rule["allowed"] == [{"IPProtocol": "udp", "ports": ["51820"]}]
    assert set(rule["sourceRanges"]) == others and len(others) == 3
    code, _, err = ehpc(capsys, "cluster", "terminate", "plcross", "--config", str(clouds.conf))
    assert code == 0, err
    assert gce.labelled(TAG, "plcross") == [] and (PROJECT, "ehpc-plcross-overlay") not in gce.state.firewalls
