"""Batch schedulers: one adapter per scheduler, loaded by name."""

from __future__ import annotations

import importlib

from .base import JobInfo, JobSpec, Scheduler, Submission

_ADAPTERS = {"slurm": ("slurm", "Slurm"), "sge": ("sge", "GridEngine"), "pbs": ("pbs", "Pbs")}


def get_scheduler(name: str) -> Scheduler:
    module, cls = _ADAPTERS[name]
    adapter: Scheduler = getattr(importlib.import_module(f"{__name__}.{module}"), cls)()
    return adapter


__all__ = ["JobInfo", "JobSpec", "Scheduler", "Submission", "get_scheduler"]
