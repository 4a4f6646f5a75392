"""Grid Engine's part of the bootstrap: the queue, host group and parallel environment for a layout.

Son of Grid Engine from Debian's packages: sge_qmaster on the head (a fresh spool, configured for
one-second scheduling and to accept every user), sge_execd on each compute node.
"""

from __future__ import annotations

from .layout import ClusterLayout

DRMAA_LIBRARY = "/usr/lib/gridengine-drmaa/lib/libdrmaa.so.1.0"
COMMANDS = {"sge_qmaster": "gridengine-master", "sge_execd": "gridengine-exec",
            "qsub": "gridengine-client", "munged": "munge", DRMAA_LIBRARY: "gridengine-drmaa1.0"}
SCRIPTS = ("sge.sh",)
STEPS = {"head": "ehpc_sge_head", "compute": "ehpc_sge_compute"}
# After nodes joined or left: the head registers and forgets exec hosts; the others only need
# the new hosts block.
MEMBERSHIP = {"head": "ehpc_sge_membership", "compute": "ehpc_sge_refresh"}
QUEUE = "all.q"
PE = "smp"  # one job's slots on one host: how --cpus reaches Grid Engine

_QUEUE_LIMITS = ("s_rt", "h_rt", "s_cpu", "h_cpu", "s_fsize", "h_fsize", "s_data", "h_data",
                 "s_stack", "h_stack", "s_core", "h_core", "s_rss", "h_rss", "s_vmem", "h_vmem")


def queue_conf(layout: ClusterLayout) -> str:
    slots = ",".join(["1", *(f"[{n.name}={n.cpus}]" for n in layout.computes)])
    fields = {
        "qname": QUEUE, "hostlist": "@allhosts", "seq_no": "0", "load_thresholds": "NONE",
        "suspend_thresholds": "NONE", "nsuspend": "1", "suspend_interval": "00:05:00",
        "priority": "0", "min_cpu_interval": "00:05:00", "processors": "UNDEFINED",
        "qtype": "BATCH INTERACTIVE", "ckpt_list": "NONE", "pe_list": PE, "rerun": "FALSE",
        "slots": slots, "tmpdir": "/tmp", "shell": "/bin/bash", "prolog": "NONE",
        "epilog": "NONE", "shell_start_mode": "posix_compliant", "starter_method": "NONE",
        "suspend_method": "NONE", "resume_method": "NONE", "terminate_method": "NONE",
        "notify": "00:00:60", "owner_list": "NONE", "user_lists": "NONE", "xuser_lists": "NONE",
        "subordinate_list": "NONE", "complex_values": "NONE", "projects": "NONE",
        "xprojects": "NONE", "calendar": "NONE", "initial_state": "default",
        **{limit: "INFINITY" for limit in _QUEUE_LIMITS},
    }
    return "".join(f"{key:<20} {value}\n" for key, value in fields.items())


def hostgroup_conf(layout: ClusterLayout) -> str:
    hosts = " ".join(n.name for n in layout.computes) or "NONE"  # none yet: autoscaled
    return f"group_name @allhosts\nhostlist {hosts}\n"


def pe_conf() -> str:
    fields = {
        "pe_name": PE, "slots": "99999", "user_lists": "NONE", "xuser_lists": "NONE",
        "start_proc_args": "NONE", "stop_proc_args": "NONE", "allocation_rule": "$pe_slots",
        "control_slaves": "FALSE", "job_is_first_task": "TRUE", "urgency_slots": "min",
        "accounting_summary": "FALSE", "qsort_args": "NONE",
    }
    return "".join(f"{key:<20} {value}\n" for key, value in fields.items())


def files(layout: ClusterLayout) -> dict[str, str]:
    """Variables (name -> text) the scripts write out as files."""
    return {
        "EHPC_SGE_MASTER": layout.head.name,
        "EHPC_SGE_EXECS": ",".join(n.name for n in layout.computes),
        "EHPC_SGE_QUEUE": queue_conf(layout),
        "EHPC_SGE_HOSTGROUP": hostgroup_conf(layout),
        "EHPC_SGE_PE": pe_conf(),
        "EHPC_DRMAA_LIBRARY": DRMAA_LIBRARY,
    }
