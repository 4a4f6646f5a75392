"""PBS-style clusters: Slurm underneath, driven through Slurm's Torque wrappers (qsub, qstat, qdel,
pbsnodes from Debian's slurm-wlm-torque). Torque itself is no longer packaged."""

from __future__ import annotations

from . import slurm

# The wrappers conflict with gridengine-client (both ship qsub); a machine that runs local clusters
# has them unpacked in /opt/ehpc-pbs (scripts/unpack-torque-wrappers.sh), a cloud node installs them.
COMMANDS = {**slurm.COMMANDS, "/opt/ehpc-pbs/usr/bin/qsub": "slurm-wlm-torque"}
SCRIPTS = (*slurm.SCRIPTS, "pbs.sh")
STEPS = {"head": "ehpc_pbs_head", "compute": slurm.STEPS["compute"]}

MEMBERSHIP = slurm.MEMBERSHIP
AFTER_INSTALL = slurm.AFTER_INSTALL
files = slurm.files
