"""Slurm's part of the bootstrap: slurm.conf for a layout, and which step each role runs."""

from __future__ import annotations

from .layout import ClusterLayout

COMMANDS = {"slurmctld": "slurmctld", "slurmd": "slurmd", "sbatch": "slurm-client",
            "munged": "munge"}
SCRIPTS = ("slurm.sh",)
STEPS = {"head": "ehpc_slurm_head", "compute": "ehpc_slurm_compute"}
# After nodes joined or left: what the head and the compute nodes that stay run.
MEMBERSHIP = {"head": "ehpc_slurm_membership", "compute": "ehpc_slurm_refresh"}

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
MpiDefault=none
ReturnToService=2
MaxJobCount=50000
MaxArraySize=100001
MinJobAge=1800
SlurmdTimeout=120
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
    for node in layout.computes:
        lines.append(
            f"NodeName={node.name} NodeAddr={node.address} CPUs={node.cpus} "
            f"RealMemory={node.memory_mb} State=UNKNOWN"
        )
    lines.append("PartitionName=main Nodes=ALL Default=YES MaxTime=INFINITE State=UP")
    return "\n".join(lines) + "\n"


def files(layout: ClusterLayout) -> dict[str, str]:
    """Variables (name -> text) the scripts write out as files."""
    variables = {"EHPC_SLURM_CONF": slurm_conf(layout)}
    if layout.accounting:
        variables["EHPC_SLURMDBD_CONF"] = _SLURMDBD.format(
            name=layout.name, head=layout.head.name, head_address=layout.head.address
        )
        variables["EHPC_SLURM_CLUSTER"] = cluster_name(layout)
    return variables
