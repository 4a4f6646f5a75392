#!/usr/bin/env bash
# Slurm's Torque wrappers (Debian's slurm-wlm-torque: qsub, qstat, qdel, pbsnodes) conflict with
# gridengine-client, which also ships qsub. Local clusters run every scheduler from this machine's
# /usr, so the wrappers are unpacked (not installed) into a private prefix that the PBS adapter
# puts first on PATH. Cloud nodes install the package normally. Slurm runs underneath either way.
set -euo pipefail
prefix=${1:-/opt/ehpc-pbs}
[ -x "$prefix/usr/bin/qsub" ] && exit 0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download -q slurm-wlm-torque >/dev/null 2>&1) \
  || (apt-get update -q >/dev/null && cd "$work" && apt-get download -q slurm-wlm-torque >/dev/null)
mkdir -p "$prefix"
dpkg-deb -x "$work"/slurm-wlm-torque_*.deb "$prefix"
# The wrappers call sbatch/salloc/srun from their own directory.
for cmd in sbatch salloc srun; do
  ln -sf "/usr/bin/$cmd" "$prefix/usr/bin/$cmd"
done
