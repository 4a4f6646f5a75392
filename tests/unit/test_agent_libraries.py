"""What the head agent's bundle carries of the client's libraries (agent/libraries.py), read from
this environment's installed distributions."""

from __future__ import annotations

import importlib
import importlib.metadata as metadata
import sys
from pathlib import Path

import pytest

from elastichpc.agent.libraries import files_of, library_files, required
from elastichpc.config import Settings
from elastichpc.providers import get_provider


def names(extras: set[str]) -> set[str]:
    return {d.metadata["Name"].lower() for d in required(extras)}


def test_a_provider_extra_brings_its_sdk_and_what_that_requires() -> None:
    core, aws = names(set()), names({"aws"})
    assert {"starlette", "uvicorn", "cryptography"} <= core  # the agent's own
    assert "boto3" not in core
    assert {"boto3", "botocore", "jmespath"} <= aws - core
    # (in core too where they are system-installed and loaded: Debian's python3-six, -urllib3)
    assert {"python-dateutil", "six", "urllib3"} <= aws
    assert "awscrt" not in aws  # botocore's `crt` extra is not asked for
    assert not any(n.startswith(("google", "azure")) for n in aws)


def test_aws_ships_the_models_of_the_services_it_calls_only() -> None:
    provider = get_provider("aws", Settings({}))
    shipped = [name for name, _ in library_files({"aws"}, provider.agent_keeps)]
    models = {n.split("/")[2] for n in shipped if n.startswith("botocore/data/") and n.count("/") > 2}
    assert models == {"ec2", "pricing", "ssm"}
    assert "botocore/data/endpoints.json" in shipped and "botocore/client.py" in shipped
    assert not [n for n in shipped if n.endswith((".pyc", "examples-1.json")) or n.startswith("../")]


def test_a_distribution_without_a_record_ships_its_top_level_packages(tmp_path: Path) -> None:
    """As Debian installs python3-urllib3: an egg-info with PKG-INFO and top_level.txt only."""
    info = tmp_path / "urllib3-1.26.12.egg-info"
    info.mkdir()
    (info / "PKG-INFO").write_text("Metadata-Version: 1.2\nName: urllib3\nVersion: 1.26.12\n")
    (info / "top_level.txt").write_text("urllib3\nsix\n")
    (tmp_path / "urllib3" / "util").mkdir(parents=True)
    for name in ("urllib3/__init__.py", "urllib3/util/retry.py", "six.py", "other.py"):
        (tmp_path / name).write_text("")
    dist = metadata.PathDistribution(info)
    assert dist.files is None
    assert sorted(name for name, path in files_of(dist) if path.is_file()) == [
        "six.py", "urllib3/__init__.py", "urllib3/util/retry.py"]


def test_a_loaded_system_library_goes_even_when_no_requirement_names_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Debian's python3-requests declares no requirements, yet imports urllib3: what the client
    has loaded from a distribution without a RECORD is shipped too."""
    info = tmp_path / "ehpcsysdemo-1.0.egg-info"
    info.mkdir()
    (info / "PKG-INFO").write_text("Metadata-Version: 1.2\nName: ehpcsysdemo\nVersion: 1.0\n")
    (info / "top_level.txt").write_text("ehpcsysdemo\n")
    (tmp_path / "ehpcsysdemo.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "ehpcsysdemo", raising=False)
    assert "ehpcsysdemo" not in names(set())  # installed, not loaded
    importlib.import_module("ehpcsysdemo")
    assert "ehpcsysdemo" in names(set())
    shipped = [name for name, _ in library_files(set(), lambda _: True)]
    assert "ehpcsysdemo.py" in shipped
