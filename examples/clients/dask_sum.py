"""A dask computation on two Slurm jobs (dask-jobqueue): each worker is one Slurm job."""

import socket

from dask_jobqueue import SLURMCluster
from distributed import Client


def square(x: int) -> tuple[int, str]:
    return x * x, socket.gethostname()


with SLURMCluster(cores=1, processes=1, memory="500MB", walltime="00:10:00",
                  log_directory="dask-logs") as cluster:
    cluster.scale(2)
    with Client(cluster) as client:
        client.wait_for_workers(2, timeout=120)
        results = client.gather(client.map(square, range(100)))
        workers = client.scheduler_info()["workers"].values()
        hosts = sorted({host for _, host in results})
        print(f"sum of squares 0..99 = {sum(r for r, _ in results)} on {len(workers)} workers"
              f" (Slurm jobs), computed on {', '.join(hosts)}")
