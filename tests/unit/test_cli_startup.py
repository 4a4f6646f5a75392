"""The CLI loads no cloud SDK for --help or for building any command's parser."""

from __future__ import annotations

import subprocess
import sys

CLOUD_MODULES = ("boto3", "botocore", "google", "azure", "cryptography")


def _loaded_after(code: str) -> list[str]:
    probe = code + (
        "\nimport sys\n"
        f"print('LOADED:' + ','.join(m for m in sys.modules if m.split('.')[0] in {CLOUD_MODULES!r}))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    line = out.stdout.rsplit("LOADED:", 1)[1].strip()
    return [m for m in line.split(",") if m]


def test_help_imports_no_cloud_sdk() -> None:
    code = (
        "from elastichpc.cli.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass"
    )
    assert _loaded_after(code) == []


def test_every_subcommand_parser_imports_no_cloud_sdk() -> None:
    assert _loaded_after("from elastichpc.cli.main import build_parser\nbuild_parser()") == []


def test_the_probe_sees_a_loaded_sdk() -> None:
    """The check above can fail: importing boto3 is seen."""
    assert "boto3" in _loaded_after("import boto3")
