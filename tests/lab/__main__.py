"""`python -m tests.lab build|up|status|down|run [--name LAB] -- CMD...` (as root).

build: make the cached image and mirror (needs the Debian mirror; once).  up: start the lab.
status: what runs in it.  down: remove everything it made.  run: a command inside the lab's
namespace with the emulators' endpoints set (e.g. `run -- ehpc cluster list`).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from .control import Lab
from .image import ensure_built


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.lab", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["build", "up", "status", "down", "run"])
    parser.add_argument("--name", default="ehpclab", help="the lab's network namespace")
    words = sys.argv[1:]
    # Everything after the first `--` is the command, untouched (argparse would drop its `--`s).
    cut = words.index("--") if "--" in words else len(words)
    args = parser.parse_args(words[:cut])
    args.argv = words[cut + 1:]
    lab = Lab(args.name)
    if args.action == "build":
        print(ensure_built().mirror)
    elif args.action == "up":
        lab.up()
        print(f"lab {args.name} up; run commands in it with: python -m tests.lab run -- CMD")
    elif args.action == "status":
        state = lab.state()
        if not state:
            print(f"lab {args.name} is not running")
            return 1
        print(json.dumps({k: state[k] for k in ("pid", "ready", "env", "machines", "errors")}, indent=1))
    elif args.action == "down":
        for line in lab.down():
            print("removed", line)
    else:
        if not lab.state():
            print(f"lab {args.name} is not running", file=sys.stderr)
            return 1
        return subprocess.call(lab.command(args.argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
