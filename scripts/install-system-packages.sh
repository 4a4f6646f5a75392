#!/usr/bin/env bash
# System packages for local clusters (Debian 12 / Ubuntu). Daemons are not started by apt
# here: ElasticHPC starts every daemon itself, inside the cluster's nodes.
# Usage: install-system-packages.sh [all]
#   (nothing): what the main job needs (a local Slurm cluster running EMBOSS seqret);
#   all:       also every other feature's packages (the tests use them all). Without them a
#              feature that needs one says which in one line (`apt-get install -y ...`).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
packages=(
  iproute2 util-linux openssh-server openssh-client   # nodes: namespaces, sshd
  rsync                                                # ehpc cp (client and local nodes)
  nftables                                             # nodes' NAT, clusters kept apart
  munge slurmctld slurmd slurm-client                  # Slurm
  emboss                                               # the README's demo job (seqret)
  openmpi-bin libopenmpi-dev libpmix2 gcc              # MPI on every node (MpiDefault=pmix), mpicc
)
[ "${1:-}" = all ] && packages+=(
  slurmdbd mariadb-server                              # Slurm accounting (ACCOUNTING = true)
  gridengine-master gridengine-exec gridengine-client  # Grid Engine
  gridengine-drmaa1.0                                  # its DRMAA library (python drmaa)
  libslurm-perl libslurmdb-perl libswitch-perl         # Slurm's Torque wrappers (PBS), see below
  xfsprogs glusterfs-server glusterfs-client            # data disks (ext4/xfs), GlusterFS
  nfs-ganesha nfs-ganesha-vfs rpcbind libnfs-utils     # NFS server in a node, libnfs client
  zsh                                                  # the zsh completion test
  wireguard-tools wireguard-go nftables iperf3         # the overlay between sites, its firewall
  debootstrap apt-utils gnupg                          # the cloud lab: image, package mirror
  chromium libatomic1                                  # the dashboard's browser test (Playwright; its node driver needs libatomic)
  bwa samtools                                         # the example pipeline (examples/pipeline), its checks here
)
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  # Keep apt from starting these daemons on this machine (ElasticHPC starts them inside nodes).
  guard=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    guard=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' > "$guard"
    chmod 755 "$guard"
    trap 'rm -f "$guard"' EXIT
  fi
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# slurm-wlm-torque conflicts with gridengine-client (both ship qsub): unpacked into /opt/ehpc-pbs.
[ "${1:-}" = all ] && bash "$(dirname "$0")/unpack-torque-wrappers.sh"
true
