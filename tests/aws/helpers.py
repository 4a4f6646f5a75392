"""Running `ehpc` in-process against moto, and the cluster.conf of the tests."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from elastichpc.cli.main import main

from .conftest import REGION


@dataclass
class Result:
    code: int
    out: str
    err: str


def ehpc(capsys: pytest.CaptureFixture[str], *argv: str) -> Result:
    capsys.readouterr()
    code = main(list(argv))
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)


def create_args(name: str, size: int, image: str, *extra: str) -> list[str]:
    return [
        "cluster", "create", "--provider", "aws", "--name", name, "--size", str(size),
        "--aws-region", REGION, "--image-aws-image-id", image,
        "--aws-instance-type", "t3.micro", "--aws-master-type", "t3.small",
        *extra,
    ]
