# Slurm: slurmctld on the head, slurmd on compute nodes; one slurm.conf everywhere.
ehpc_slurm_common() {
  ehpc_file /etc/slurm/slurm.conf 0644 root:root <<< "$EHPC_SLURM_CONF"
  install -d -o slurm -g slurm -m 0755 /var/log/slurm
}

ehpc_slurm_head() {
  ehpc_packages slurmctld:slurmctld sbatch:slurm-client
  ehpc_slurm_common
  install -d -o slurm -g slurm -m 0755 /var/spool/slurmctld
  ehpc_service slurmctld /run/slurmctld.pid /usr/sbin/slurmctld
}

ehpc_slurm_compute() {
  ehpc_packages slurmd:slurmd
  ehpc_slurm_common
  install -d -m 0755 /var/spool/slurmd
  ehpc_service slurmd /run/slurmd.pid /usr/sbin/slurmd
}
