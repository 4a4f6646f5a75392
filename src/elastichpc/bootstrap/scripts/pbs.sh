# PBS-style submission: slurmctld on the head, slurmd on compute nodes, and Slurm's Torque
# wrappers (qsub, qstat, qdel, pbsnodes) on the head.
ehpc_pbs_head() {
  ehpc_slurm_head
  if [ ! -x /opt/ehpc-pbs/usr/bin/qsub ] \
      && ! dpkg-query -W -f='${Status}' slurm-wlm-torque 2>/dev/null | grep -q 'ok installed'; then
    ehpc_log "installing slurm-wlm-torque"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends slurm-wlm-torque \
      >/dev/null
  fi
}
