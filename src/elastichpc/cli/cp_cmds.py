"""ehpc cp SRC... DST: files in and out of a cluster (rsync over the cluster's SSH)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from .output import ConsoleProgress, print_json

if TYPE_CHECKING:
    from .registry import Commands


def register(commands: Commands) -> None:
    commands.add("cp", cp_args, cp_cmd, "copy files to or from a cluster (scp-like, via rsync)",
                 description="ehpc cp SRC... DST: NAME:PATH is the head, NAME/NODE:PATH one "
                 "node, anything else this machine; exactly one side is a cluster. Relative "
                 "cluster paths are in the user's home; NAME:JOBID/... is in that job's working "
                 "directory. Only what changed is sent; a rerun finishes an interrupted copy.")


def cp_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", metavar="PATH",
                        help="sources, then the destination (after -- when one starts with -)")
    parser.add_argument("-r", "--recursive", action="store_true", help="copy directories")
    parser.add_argument("--user", help="the cluster side's user (default the cluster user)")
    parser.add_argument("--bwlimit", type=int, metavar="KIBPS",
                        help="at most this many KiB/s (rsync's --bwlimit)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


def cp_cmd(args: argparse.Namespace) -> int:
    from ..errors import ConfigError
    from ..orchestration.transfer import copy_files

    paths = [*args.paths, *args.command]
    if len(paths) < 2:
        raise ConfigError("give at least one source and a destination: ehpc cp SRC... DST")
    show = ConsoleProgress() if sys.stderr.isatty() else None
    summary = copy_files(paths[:-1], paths[-1], recursive=args.recursive, user=args.user,
                   bwlimit=args.bwlimit, progress=show)  # a bar only on a terminal
    if args.json:
        print_json(summary)
    else:
        wire = summary.bytes_sent + summary.bytes_received
        print(f"{summary.files_transferred} file(s) copied ({wire:,} bytes on the wire, "
              f"{summary.total_size:,} bytes in all) in {summary.seconds:.1f} s")
    return 0
