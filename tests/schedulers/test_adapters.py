"""The Grid Engine and PBS adapters: commands they build and output they parse (captured from
Son of Grid Engine 8.1.9 and Slurm 22.05's Torque wrappers on local clusters)."""

from __future__ import annotations

import pytest

from elastichpc.errors import ConfigError
from elastichpc.schedulers import JobSpec, get_scheduler
from elastichpc.schedulers.sge import CANCELLED

QSTAT_XML = """<?xml version='1.0'?>
<job_info>
  <queue_info>
    <job_list state="running">
      <JB_job_number>2</JB_job_number><JB_name>job</JB_name><JB_owner>ehpcuser</JB_owner>
      <state>r</state><queue_name>all.q@demo-node1</queue_name><slots>1</slots><tasks>1</tasks>
    </job_list>
    <job_list state="running">
      <JB_job_number>3</JB_job_number><JB_name>other</JB_name><JB_owner>ehpcuser</JB_owner>
      <state>r</state><queue_name>all.q@demo-node2</queue_name><slots>1</slots>
    </job_list>
  </queue_info>
  <job_info>
    <job_list state="pending">
      <JB_job_number>2</JB_job_number><JB_name>job</JB_name><JB_owner>ehpcuser</JB_owner>
      <state>qw</state><queue_name></queue_name><slots>1</slots><tasks>3-5:2</tasks>
    </job_list>
  </job_info>
</job_info>
"""

QACCT = """==============================================================
qname        all.q               
hostname     demo-node2          
owner        ehpcuser            
jobname      job                 
jobnumber    2                   
taskid       2                   
failed       0    
exit_status  3                   
ru_wallclock 1s
==============================================================
qname        all.q               
hostname     demo-node1          
owner        ehpcuser            
jobname      job                 
jobnumber    2                   
taskid       4                   
failed       100 : assumedly after job
exit_status  137                  (Killed)
ru_wallclock 2s
"""  # noqa: W291 (qacct pads its values with spaces)


def test_sge_submit_renders_resources() -> None:
    spec = JobSpec(["echo hi"], name="n", cpus=2, memory_mb=512, walltime_min=90, array="1-20%4")
    sub = get_scheduler("sge").submit(spec, "/shared/jobs")
    # qsub through a wrapper that takes "has been submitted" with no exec host as success
    assert sub.argv[:2] == ["bash", "-c"] and "has been submitted" in sub.argv[2]
    assert sub.argv[3:] == [
        "qsub", "-terse", "-C", "", "-S", "/bin/bash", "-N", "n", "-wd", "/shared/jobs",
        "-o", "/shared/jobs/n-$JOB_ID.$TASK_ID.out", "-e", "/shared/jobs/n-$JOB_ID.$TASK_ID.err",
        "-pe", "smp", "2", "-l", "mem_free=512M", "-l", "h_rt=5400",
        "-t", "1-20", "-tc", "4",
    ]
    assert sub.script == "#!/bin/bash\necho hi\n"


@pytest.mark.parametrize("array", ["1,3,5", "1-3,7"])
def test_sge_takes_one_array_range(array: str) -> None:
    with pytest.raises(ConfigError, match="one range"):
        get_scheduler("sge").submit(JobSpec(["true"], array=array), "/shared/jobs")


def test_sge_status_merges_queue_and_accounting() -> None:
    sge = get_scheduler("sge")
    output = f"{QSTAT_XML}--ehpc-qacct--\n{QACCT}"
    infos = sge.parse_status("2", output)
    assert [(i.task, i.state, i.exit_code, i.nodes) for i in infos] == [
        ("1", "running", None, "demo-node1"),
        ("2", "failed", 3, "demo-node2"),
        ("3", "pending", None, ""),
        ("4", "failed", 137, "demo-node1"),
        ("5", "pending", None, ""),
    ]
    cancelled = sge.parse_status("2", output + "--ehpc-cancelled--\n")
    assert [i.state for i in cancelled if i.task == "4"] == ["cancelled"]
    assert sge.parse_status("7", "<job_info/>--ehpc-qacct--\n--ehpc-cancelled--\n")[0].state == "cancelled"
    assert CANCELLED in " ".join(sge.cancel_argv("7"))


def test_sge_nodes_and_submit_output() -> None:
    sge = get_scheduler("sge")
    qstat_f = (
        "queuename                      qtype resv/used/tot. load_avg arch          states\n"
        "---------------------------------------------------------------------------------\n"
        "all.q@demo-node1               BIP   0/0/2          0.01     lx-amd64\n"
        "all.q@demo-node2               BIP   0/1/2          0.01     lx-amd64\n"
        "all.q@demo-node3               BIP   0/0/2          -NA-     lx-amd64      au\n"
    )
    assert sge.parse_nodes(qstat_f) == {"demo-node1": "idle", "demo-node2": "mix", "demo-node3": "down"}
    assert sge.parse_loads(qstat_f) == {"demo-node1": 0.01, "demo-node2": 0.01}  # -NA-: unknown
    assert sge.parse_submit("12.1-6:1\n") == "12"
    with pytest.raises(ValueError):
        sge.parse_submit("Unable to run job: denied\n")


def test_pbs_submits_through_the_torque_wrappers() -> None:
    spec = JobSpec(["echo hi"], name="n", cpus=2, memory_mb=512, walltime_min=90, array="1-4")
    sub = get_scheduler("pbs").submit(spec, "/shared/jobs")
    assert sub.argv[0] == "env" and sub.argv[2:4] == ["bash", "-c"]
    assert sub.argv[1].startswith("PATH=/opt/ehpc-pbs/usr/bin:")  # before Grid Engine's qsub
    assert sub.argv[-12:] == [
        "-N", "n", "-wd", "/shared/jobs", "-o", "/shared/jobs/n-%A_%a.out",
        "-e", "/shared/jobs/n-%A_%a.err", "-l", "nodes=1:ppn=2,mem=512mb,walltime=01:30:00",
        "-t", "1-4",
    ]
    assert sub.script.splitlines()[0] == "#!/bin/bash"
    assert sub.script.splitlines()[-1] == "echo hi"
    assert "PBS_ARRAYID" in sub.script


def test_pbs_refuses_paths_the_wrapper_would_hand_to_a_shell() -> None:
    with pytest.raises(ConfigError, match="shell characters"):
        get_scheduler("pbs").submit(JobSpec(["true"], stdout="/shared/a b.out"), "/shared/jobs")


def test_pbs_parses_qstat_and_pbsnodes() -> None:
    pbs = get_scheduler("pbs")
    qstat = (
        "Job Id:\t1\n\tJob_Name = job\n\tjob_state = C\n\texec_host = demo-node1/1\n"
        "\teuser = ehpcuser(1500)\n\n"
        "Job Id:\t4\n\tJob_Name = job\n\tjob_state = R\n\texec_host = demo-node2/2\n"
        "\teuser = ehpcuser(1500)\n\n"
        "Job Id:\t5\n\tJob_Name = wrap\n\tjob_state = Q\n\teuser = root(0)\n\n"
    )
    assert [(j.job_id, j.state, j.nodes, j.user) for j in pbs.parse_list(qstat)] == [
        ("4", "running", "demo-node2", "ehpcuser"), ("5", "pending", "", "root"),
    ]
    nodes = (
        "demo-node1\n    state = free\n    np = 2\n\n"
        "demo-node2\n    state = job-exclusive\n    np = 2\n    status = rectime=1,state=job-exclusive\n"
    )
    assert pbs.parse_nodes(nodes) == {"demo-node1": "idle", "demo-node2": "alloc"}


def test_owners_follow_the_guide_the_same_way_on_every_scheduler() -> None:
    rules = {"system": "root", "ubuntu": "ubuntu", "ehpcuser": ""}
    for name in ("slurm", "sge", "pbs"):
        assert get_scheduler(name).direct_owners == rules
    assert "sge" not in get_scheduler("sge").direct_owners


def test_slurm_node_loads() -> None:
    slurm = get_scheduler("slurm")
    assert slurm.loads_argv() == ["sinfo", "-h", "-N", "-o", "%N %O"]
    assert slurm.parse_loads("demo-node1 0.52\ndemo-node2 N/A\n") == {"demo-node1": 0.52}
