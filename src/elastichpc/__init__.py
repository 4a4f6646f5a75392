"""ElasticHPC: real HPC clusters on one machine, AWS, GCE and Azure.

The Python API mirrors the CLI (the CLI is a thin layer over it)::

    from elastichpc import create_cluster, submit_job, terminate_cluster, load_spec
    spec = load_spec(overrides={("CLUSTER", "CLUSTER_PREFIX"): "demo", ("CLUSTER", "CLUSTER_SIZE"): "3"})
    cluster = create_cluster(spec)
    job = submit_job("demo", JobSpec(command=["hostname"]))

Names are resolved lazily so that importing the package stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "2.1.0"

_EXPORTS = {
    "load_spec": "elastichpc.config",
    "ClusterSpec": "elastichpc.config",
    "Pool": "elastichpc.config",
    "Placement": "elastichpc.config",
    "Fleet": "elastichpc.orchestration.fleet",
    "list_spot_requests": "elastichpc.orchestration.spot",
    "cancel_spot_requests": "elastichpc.orchestration.spot",
    "create_cluster": "elastichpc.orchestration.create",
    "terminate_cluster": "elastichpc.orchestration.terminate",
    "list_clusters": "elastichpc.orchestration.inventory",
    "list_nodes": "elastichpc.orchestration.inventory",
    "submit_job": "elastichpc.orchestration.jobs",
    "submit_jobs": "elastichpc.orchestration.jobs",
    "job_report": "elastichpc.orchestration.jobs",
    "job_status": "elastichpc.orchestration.jobs",
    "list_jobs": "elastichpc.orchestration.jobs",
    "job_logs": "elastichpc.orchestration.jobs",
    "cancel_job": "elastichpc.orchestration.jobs",
    "wait_job": "elastichpc.orchestration.jobs",
    "copy_files": "elastichpc.orchestration.transfer",
    "JobSpec": "elastichpc.schedulers.base",
    "EhpcError": "elastichpc.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'elastichpc' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
