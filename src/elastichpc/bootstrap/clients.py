"""What the tools users bring find on a cluster whose jobs run on Slurm: a Snakemake profile `ehpc`
on every node (so `snakemake` run in a job finds it too), the default one of the cluster user.

Snakemake looks for a named profile in the working directory, $XDG_CONFIG_HOME/snakemake and the
first of $XDG_CONFIG_DIRS (/etc/xdg) + /snakemake; SNAKEMAKE_PROFILE names the default one, which
`--profile` replaces. The profile is a YTE template: the Slurm executor's settings only where its
plugin is installed, since Snakemake refuses an option no installed plugin defines (a venv with
Snakemake alone keeps working, on this machine's executor).
"""

from __future__ import annotations

from .layout import ClusterLayout

PROFILE = "ehpc"
PROFILE_DIR = f"/etc/xdg/snakemake/{PROFILE}"
SCHEDULERS = ("slurm", "pbs")  # a PBS cluster is Slurm underneath
SLURM_PLUGIN = "snakemake_executor_plugin_slurm"
# The plugin checks job states first this long after submitting, again after each check that saw
# a job finish, and 10 s later each time one saw none (its defaults: 40 s, the same growth): on
# a cluster that starts a job within a second, one second.
FIRST_CHECK_S = 1
LATENCY_WAIT_S = 30  # only waited for when an output is missing: the shared file system's caches
JOBS = 100  # submitted at a time; Slurm queues what the nodes cannot run yet

_PROFILE = """\
# Written by ElasticHPC for cluster {name}: `snakemake --profile {profile}`, the default
# (SNAKEMAKE_PROFILE) for the cluster user. Options given on the command line win.
__use_yte__: true
__definitions__:
  - from importlib.util import find_spec
?if find_spec("{plugin}"):
  executor: slurm
  jobs: {jobs}
  slurm-init-seconds-before-status-checks: {first_check}
  seconds-between-status-checks: {first_check}
latency-wait: {latency_wait}
default-resources:
  # Snakemake's own default, at most a CPU's share of the smallest node's memory, so a job
  # never asks more than a node has and jobs pack by CPU.
  mem_mb: min(max(2 * input.size_mb, 1000), {mem_per_cpu})
"""


def snakemake_profile(layout: ClusterLayout) -> str:
    nodes = [*layout.computes, *layout.cloud] or [layout.head]
    mem_per_cpu = min(node.memory_mb // max(node.cpus, 1) for node in nodes)
    return _PROFILE.format(name=layout.name, profile=PROFILE, plugin=SLURM_PLUGIN, jobs=JOBS,
                           first_check=FIRST_CHECK_S, latency_wait=LATENCY_WAIT_S,
                           mem_per_cpu=mem_per_cpu)


def files(layout: ClusterLayout) -> dict[str, str]:
    """Variables (name -> text) for clients.sh."""
    if layout.scheduler not in SCHEDULERS:
        return {}
    return {"EHPC_SNAKEMAKE_PROFILE": snakemake_profile(layout),
            "EHPC_SNAKEMAKE_PROFILE_DIR": PROFILE_DIR}
