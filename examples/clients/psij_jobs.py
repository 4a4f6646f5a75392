"""Two jobs through psij's Slurm executor; psij keeps its job scripts under ~/.psij, so this needs
the cluster user's home on every node."""

from pathlib import Path

import psij

executor = psij.JobExecutor.get_instance("slurm")
jobs = []
for i in range(2):
    spec = psij.JobSpec(executable="/bin/hostname", stdout_path=Path(f"psij-{i}.out").absolute())
    jobs.append(psij.Job(spec))
    executor.submit(jobs[-1])
for i, job in enumerate(jobs):
    status = job.wait()
    print(f"job {job.native_id}: {status.state}, exit code {status.exit_code},"
          f" ran on {Path(f'psij-{i}.out').read_text().strip()}")
