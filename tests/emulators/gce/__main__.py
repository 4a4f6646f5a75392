"""`python -m tests.emulators.gce --port N`: serve the emulator on 127.0.0.1 until interrupted."""

from __future__ import annotations

import argparse
import signal
import sys

from .server import EmulatorServer


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.emulators.gce", description=__doc__)
    parser.add_argument("--port", type=int, default=8085, help="port on 127.0.0.1 (0: any free one)")
    args = parser.parse_args()
    server = EmulatorServer(args.port)
    print(f"GCE emulator listening on {server.url}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
