"""Issue 14 against the GCE emulator: no address lookup when the endpoint is local (item 8), and
`terminate --forget` for a cluster whose endpoint is gone (item 7)."""

from __future__ import annotations

import pytest

from tests.emulators.gce import Emulator, EmulatorServer

from .conftest import PROJECT
from .test_gce_cluster import create, ehpc


def test_local_endpoint_opens_loopback_and_asks_nobody(
    gce: Emulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EHPC_CALLER_CIDR")
    monkeypatch.setenv("EHPC_WHAT_IS_MY_IP", "http://192.0.2.1:9/")  # would fail, if ever asked
    code, _, err = ehpc(capsys, "cluster", "create", "--provider", "gce", "--gce-project-id",
                        PROJECT, "--name", "hi-fw", "--size", "1", "--provision-only")
    assert code == 0, err
    notes = [line for line in err.splitlines() if "FW_SOURCE" in line]
    assert len(notes) == 1 and "is on this machine" in notes[0] and "no address lookup" in notes[0]
    rules = {name: rule for (p, name), rule in gce.state.firewalls.items() if p == PROJECT}
    assert rules["ehpc-hi-fw-ssh"]["sourceRanges"] == ["127.0.0.1/32"]
    assert ehpc(capsys, "cluster", "terminate", "hi-fw")[0] == 0


def test_terminate_forget_when_the_endpoint_is_gone(
    gce_server: EmulatorServer, capsys: pytest.CaptureFixture[str]
) -> None:
    create(capsys, "hi-gone", 2)
    gce_server.stop()  # the endpoint is gone for good
    code, _, err = ehpc(capsys, "cluster", "terminate", "hi-gone")
    last = err.splitlines()[-1]  # after the step that failed
    assert code != 0 and last.startswith("ehpc: error: GCE list instances: cannot reach")
    assert last.endswith("`ehpc cluster terminate hi-gone --forget` drops the cluster here")
    assert "hi-gone" in ehpc(capsys, "cluster", "list")[1]  # still known: nothing was verified

    code, _, err = ehpc(capsys, "cluster", "terminate", "hi-gone", "--forget")
    assert code == 0, err
    warning = err.splitlines()[-1]
    assert warning.startswith("ehpc: warning: forgot cluster hi-gone without removing anything on gce")
    assert "not verified: 3 machines" in warning and "ehpc-cluster=hi-gone" in warning
    assert "hi-gone" not in ehpc(capsys, "cluster", "list")[1]
