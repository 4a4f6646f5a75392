"""Running host commands for the local provider, with errors as one line."""

from __future__ import annotations

import subprocess
from pathlib import Path

from ...errors import ProviderError


def run(argv: list[str], *, input: str | None = None, check: bool = True) -> str:
    """Run argv (never through a shell); return stdout. On failure, the last stderr line."""
    proc = subprocess.run(argv, input=input, capture_output=True, text=True)
    if check and proc.returncode != 0:
        lines = (proc.stderr or proc.stdout).strip().splitlines()
        detail = lines[-1] if lines else f"exit code {proc.returncode}"
        raise ProviderError(f"{argv[0]} {argv[1] if len(argv) > 1 else ''}: {detail}".strip())
    return proc.stdout


def node_argv(netns: str, ns_dir: str, node: str, argv: list[str]) -> list[str]:
    """argv run inside a local node: its network, host name, mount, IPC and time namespaces
    (the last two where the node has them: one made by an older ehpc has not)."""
    return [
        "nsenter",
        f"--net=/run/netns/{netns}",
        f"--uts={ns_dir}/{node}.uts",
        f"--mount={ns_dir}/{node}.mnt",
        *(f"--{kind}={ns_dir}/{node}.{kind}" for kind in ("ipc", "time")
          if Path(f"{ns_dir}/{node}.{kind}").exists()),
        "--",
        *argv,
    ]
