"""Throttling and latency between boto3 and moto (the fault proxy): create recovers through
retries; when retries run out the user sees one line, and terminate leaves nothing."""

from __future__ import annotations

import json

import pytest

from .helpers import create_args, ehpc


def test_create_survives_throttling_and_latency(aws_env, capsys, image, monkeypatch) -> None:
    proxy = aws_env
    monkeypatch.setenv("EHPC_AWS_MAX_ATTEMPTS", "4")
    proxy.set_delay(0.05)
    proxy.fail_next(2, action="RunInstances")
    result = ehpc(capsys, *create_args("slow", 3, image, "--provision-only", "--json"))
    assert result.code == 0, result.err
    assert proxy.faults.failed == 2  # both throttled calls were retried, nothing launched twice
    assert len(json.loads(result.out)["nodes"]) == 4
    proxy.fail_next(2, action="TerminateInstances")
    assert ehpc(capsys, "cluster", "terminate", "slow").code == 0
    assert proxy.faults.failed == 4


@pytest.mark.parametrize("action", ["RunInstances", "DescribeInstances"])
def test_retries_run_out_in_one_line(aws_env, capsys, image, monkeypatch, action: str) -> None:
    proxy = aws_env
    monkeypatch.setenv("EHPC_AWS_MAX_ATTEMPTS", "2")
    proxy.fail_next(1000, action=action)
    result = ehpc(capsys, *create_args("throttled", 2, image, "--provision-only"))
    assert result.code == 1
    errors = [line for line in result.err.splitlines() if line.startswith("ehpc: ")]
    assert len(errors) == 1 and "Traceback" not in result.err
    assert "RequestLimitExceeded" in errors[0] and "(after 2 attempts)" in errors[0]
    assert ehpc(capsys, "cluster", "list", "--json").out.count('"failed"') == 1
    proxy.faults.reset()
    done = ehpc(capsys, "cluster", "terminate", "throttled", "--json")
    assert done.code == 0, done.err
    removed = json.loads(done.out)["removed"]
    assert any(r.startswith("security group") for r in removed)
    assert "key pair ehpc-throttled" in removed
    # the aws_env fixture then checks that nothing tagged with the cluster is left
