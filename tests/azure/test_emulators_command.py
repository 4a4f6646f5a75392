"""The README's one command for the Azure emulators, run as printed: it prints the environment
to use, serves, and SIGTERM stops it with its Azurite."""

from __future__ import annotations

import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_readmes_azure_emulators_command(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "tests.emulators.azure", str(tmp_path)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    port = ""
    try:
        first = proc.stdout.readline()
        assert first.startswith("ARM fake: https://127.0.0.1:"), first + proc.stdout.read()
        assert proc.stdout.readline() == (f"export EHPC_CONFIG={tmp_path}/cluster.conf "
                                          "EHPC_CALLER_CIDR=192.0.2.0/24\n")
        blobs = first.split("Azurite blobs: ")[1].strip()
        port = blobs.split(":")[2].split("/")[0]
        try:
            urllib.request.urlopen(blobs, timeout=10).close()
        except urllib.error.HTTPError as err:  # Azurite answers: a bare GET is refused
            assert err.code in (400, 403)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert port
    leftover = subprocess.run(["pgrep", "-f", "--", f"--blobPort {port} "], capture_output=True, text=True)
    assert leftover.returncode == 1, leftover  # 1: no such process
