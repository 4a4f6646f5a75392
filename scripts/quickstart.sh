#!/usr/bin/env bash
# The main job on the embedded default: set this machine up, build a local cluster (a head and
# three compute nodes, each a real Linux host with sshd, munge and Slurm), run EMBOSS seqret over
# twelve sequences as an array job spread across the compute nodes, show the output, and
# terminate the cluster. Run as root on Debian/Ubuntu.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec python3 examples/seqret_array.py
