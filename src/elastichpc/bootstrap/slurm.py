"""Slurm's part of the bootstrap: slurm.conf for a layout, and which step each role runs."""

from __future__ import annotations

from .layout import ClusterLayout

COMMANDS = {"slurmctld": "slurmctld", "slurmd": "slurmd", "sbatch": "slurm-client",
            "munged": "munge"}
SCRIPTS = ("slurm.sh",)
STEPS = {"head": "ehpc_slurm_head", "compute": "ehpc_slurm_compute"}
# After nodes joined or left: what the head and the compute nodes that stay run.
MEMBERSHIP = {"head": "ehpc_slurm_membership", "compute": "ehpc_slurm_refresh"}
# After packages were installed on a running node (a slurmd started before PMIx was there
# cannot launch `--mpi=pmix` steps).
AFTER_INSTALL = {"compute": "ehpc_slurm_restart"}

_GLOBAL = """\
# Written by ElasticHPC for cluster {name}; rewritten on every bootstrap.
ClusterName={cluster_name}
SlurmctldHost={head}({head_address})
SlurmUser=slurm
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
# linuxproc + task/none: no dependence on the cgroup layout of the machine
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
{accounting}
JobCompType=jobcomp/filetxt
JobCompLoc=/var/log/slurm/jobcomp.txt
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0,default_queue_depth=1000
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
# Open MPI's PMIx on every node: `srun ./mpi_program` needs no --mpi
MpiDefault=pmix
ReturnToService=2
MaxJobCount=50000
MaxArraySize=100001
MinJobAge=1800
SlurmdTimeout=120
"""


# Autoscaling with Slurm's own power saving: the nodes above the minimum are CLOUD nodes that
# Slurm resumes for pending jobs and suspends after SuspendTime idle; the programs hand the node
# list to the head agent, which launches (or removes) the machines. A node registers its own
# address (cloud_reg_addrs), so nothing about it is known before it exists.
_POWER_SAVE = """\
ResumeProgram=/etc/slurm/ehpc-resume
SuspendProgram=/etc/slurm/ehpc-suspend
ResumeTimeout=300
SuspendTimeout=15
SuspendTime={suspend_time}
ResumeRate=0
SuspendRate=0
TreeWidth=65533
SlurmctldParameters=cloud_reg_addrs,idle_on_node_suspend
{exclude}"""

# slurmd 22.05 loads its cgroup plugin whatever ProctrackType and TaskPlugin say. cgroup v2 (a
# cloud image) or v1, as the machine has it; when slurmd cannot reach systemd over D-Bus (no
# systemd, no dbus) it builds its cgroup directories itself instead of stopping.
CGROUP_CONF = """\
# Written by ElasticHPC.
CgroupPlugin=autodetect
IgnoreSystemdOnFailure=yes
"""

_ACCOUNTING = {
    False: "JobAcctGatherType=jobacct_gather/none\nAccountingStorageType=accounting_storage/none",
    True: "JobAcctGatherType=jobacct_gather/linux\nAccountingStorageType=accounting_storage/slurmdbd\n"
          "AccountingStorageHost={head_address}",
}

# slurmdbd reaches MariaDB over its local socket as the unix user slurm (unix_socket
# authentication): there is no database password to keep anywhere.
_SLURMDBD = """\
# Written by ElasticHPC for cluster {name}.
AuthType=auth/munge
DbdHost={head}
DbdAddr={head_address}
SlurmUser=slurm
LogFile=/var/log/slurm/slurmdbd.log
PidFile=/run/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=slurm
StorageLoc=slurm_acct_db
"""


def cluster_name(layout: ClusterLayout) -> str:
    return layout.name.replace("-", "")[:40]


def slurm_conf(layout: ClusterLayout) -> str:
    head = layout.head
    lines = [
        _GLOBAL.format(
            name=layout.name,
            cluster_name=cluster_name(layout),
            head=head.name,
            head_address=head.address,
            accounting=_ACCOUNTING[layout.accounting].format(head_address=head.address),
        )
    ]
    cloud = {node.name for node in layout.cloud}
    static = [node for node in layout.computes if node.name not in cloud]
    for node in static:
        lines.append(
            f"NodeName={node.name} NodeAddr={node.address} CPUs={node.cpus} "
            f"RealMemory={node.memory_mb} State=UNKNOWN"
        )
    if layout.cloud:
        lines.append(_POWER_SAVE.format(
            suspend_time=layout.suspend_after_s,
            exclude=f"SuspendExcNodes={','.join(n.name for n in static)}" if static else ""))
        lines += [f"NodeName={node.name} CPUs={node.cpus} RealMemory={node.memory_mb} State=CLOUD"
                  for node in layout.cloud]
    if not layout.computes:
        # slurmctld refuses to start with no node at all ("no nodes configured", then fatal): a
        # FUTURE node, the head's size, keeps it up, and jobs submitted meanwhile wait for nodes.
        lines.append(f"NodeName={layout.name}-none CPUs={head.cpus} RealMemory={head.memory_mb} "
                     "State=FUTURE")
    lines.append("PartitionName=main Nodes=ALL Default=YES MaxTime=INFINITE State=UP")
    return "\n".join(lines) + "\n"


def files(layout: ClusterLayout) -> dict[str, str]:
    """Variables (name -> text) the scripts write out as files."""
    variables = {"EHPC_SLURM_CONF": slurm_conf(layout), "EHPC_CGROUP_CONF": CGROUP_CONF}
    if layout.cloud:
        variables["EHPC_SLURM_POWER"] = "yes"
    if layout.accounting:
        variables["EHPC_SLURMDBD_CONF"] = _SLURMDBD.format(
            name=layout.name, head=layout.head.name, head_address=layout.head.address
        )
        variables["EHPC_SLURM_CLUSTER"] = cluster_name(layout)
    return variables
