"""What the head agent's bundle carries of the client's libraries (agent/libraries.py), read from
this environment's installed distributions."""

from __future__ import annotations

from elastichpc.agent.libraries import library_files, required
from elastichpc.config import Settings
from elastichpc.providers import get_provider


def names(extras: set[str]) -> set[str]:
    return {d.metadata["Name"].lower() for d in required(extras)}


def test_a_provider_extra_brings_its_sdk_and_what_that_requires() -> None:
    core, aws = names(set()), names({"aws"})
    assert {"starlette", "uvicorn", "cryptography"} <= core  # the agent's own
    assert "boto3" not in core
    assert {"boto3", "botocore", "jmespath", "python-dateutil", "six", "urllib3"} <= aws - core
    assert "awscrt" not in aws  # botocore's `crt` extra is not asked for
    assert not any(n.startswith(("google", "azure")) for n in aws)


def test_aws_ships_the_models_of_the_services_it_calls_only() -> None:
    provider = get_provider("aws", Settings({}))
    shipped = [name for name, _ in library_files({"aws"}, provider.agent_keeps)]
    models = {n.split("/")[2] for n in shipped if n.startswith("botocore/data/") and n.count("/") > 2}
    assert models == {"ec2", "ssm"}
    assert "botocore/data/endpoints.json" in shipped and "botocore/client.py" in shipped
    assert not [n for n in shipped if n.endswith((".pyc", "examples-1.json")) or n.startswith("../")]
