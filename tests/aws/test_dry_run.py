"""`cluster create --dry-run` on AWS (moto behind the counting proxy): the plan with prices
from the Price List and the spot price history, read-only checks, and no mutating call."""

from __future__ import annotations

import json
from pathlib import Path

from elastichpc.state import Journal

from .conftest import REGION
from .helpers import create_args, ehpc

READ_ONLY = ("Describe", "Get", "List")


def test_dry_run_plans_prices_and_changes_nothing(aws_env, capsys, ec2, image,
                                                  state_dir: Path) -> None:
    args = create_args("cldry", 4, image, "--dry-run", "--json", "--firewall-fw-source",
                       "198.51.100.0/24", "--firewall-fw-name", "web", "--firewall-fw-port", "443")
    result = ehpc(capsys, *args)
    assert result.code == 0, result.err
    plan = json.loads(result.out)
    (place,) = plan["places"]
    assert (place["provider"], place["region"], place["image"]) == ("aws", REGION, image)
    head, compute = place["groups"]
    assert (head["role"], head["instance_type"], head["count"]) == ("head", "t3.small", 1)
    assert (compute["instance_type"], compute["count"], compute["spot"]) == ("t3.micro", 4, False)
    # t3.micro is in the emulated Price List; t3.small is not: that price is said to be unknown.
    assert compute["hourly"] == 0.0114 and compute["price_source"].startswith("AWS Price List")
    assert head["hourly"] is None and "no on-demand Linux price for t3.small" in head["price_source"]
    assert plan["hourly"] is None
    checks = {c["what"]: c for c in plan["checks"]}
    assert all(c["ok"] for c in plan["checks"]), plan["checks"]
    assert checks["aws: credentials"]["detail"].startswith("account ")
    assert checks["aws: instance types"]["detail"] == "t3.micro: 2 vCPUs, t3.small: 2 vCPUs"
    assert "10 needed" in checks["aws: on-demand vCPU quota"]["detail"]
    assert plan["firewall"][:2] == ["tcp 22 (ssh) from 198.51.100.0/24",
                                    "tcp 443 (web) from 198.51.100.0/24"]
    calls = aws_env.faults.calls
    assert {"GetProducts", "GetCallerIdentity", "DescribeImages", "GetServiceQuota"} <= set(calls)
    mutating = [a for a in calls if not a.startswith(READ_ONLY)]
    assert mutating == [], calls
    assert Journal().get_cluster("cldry") is None
    assert not (state_dir / "clusters" / "cldry").exists()


def test_spot_pool_is_priced_from_the_spot_price_history(aws_env, capsys, image,
                                                          state_dir: Path) -> None:
    result = ehpc(capsys, *create_args("clspot", 2, image, "--dry-run", "--json",
                                       "--aws-master-type", "t3.micro",
                                       "--spot", "--price", "0.05"))
    assert result.code == 0, result.err
    (place,) = json.loads(result.out)["places"]
    head, compute = place["groups"]
    assert head["hourly"] == 0.0114 and compute["spot"] and compute["max_price"] == 0.05
    assert compute["hourly"] is not None and "spot price now in" in compute["price_source"]
    assert [a for a in aws_env.faults.calls if not a.startswith(READ_ONLY)] == []


def test_a_failed_check_is_one_line_and_nothing_is_made(aws_env, capsys, state_dir: Path) -> None:
    result = ehpc(capsys, *create_args("clbad", 1, "ami-00000000000000000", "--dry-run"))
    assert result.code == 1
    assert "✗ aws: image" in result.out
    assert result.err.count("\n") == 1 and "dry run: 1 check(s) failed: aws: image" in result.err
    assert [a for a in aws_env.faults.calls if not a.startswith(READ_ONLY)] == []


def test_a_cluster_beyond_the_vcpu_quota_is_refused(aws_env, capsys, image,
                                                    state_dir: Path) -> None:
    result = ehpc(capsys, *create_args("clbig", 20, image, "--dry-run"))  # 42 vCPUs of 32
    assert result.code == 1
    assert "✗ aws: on-demand vCPU quota: 42 needed of 32" in result.out
