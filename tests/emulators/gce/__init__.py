"""A stateful, wire-level Compute Engine v1 emulator on loopback (no real one exists).

Run it: `python -m tests.emulators.gce --port 8085`, then point ehpc at it with
`EHPC_GCE_ENDPOINT=http://127.0.0.1:8085` (or [GCE] API_ENDPOINT). In tests, start it
in-process with `EmulatorServer().start()`.
"""

from .server import Emulator, EmulatorServer

__all__ = ["Emulator", "EmulatorServer"]
