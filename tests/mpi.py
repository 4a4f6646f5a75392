"""An MPI allreduce for the tests that run MPI on a cluster (local and in the lab): each of 4
ranks adds rank + 1 and prints the sum with its host."""

from __future__ import annotations

ALLREDUCE = r"""
#include <mpi.h>
#include <stdio.h>
#include <unistd.h>
int main(int argc, char **argv) {
    int rank, size, sum;
    char host[256];
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int mine = rank + 1;
    MPI_Allreduce(&mine, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    gethostname(host, sizeof host);
    printf("rank %d of %d on %s sum %d\n", rank, size, host, sum);
    MPI_Finalize();
    return 0;
}
"""


def check_ranks(output: str, cluster: str) -> None:
    """Ranks 0-3 of 4, two on each of node1 and node2, each with the sum 1 + 2 + 3 + 4."""
    lines = [line.split() for line in output.splitlines() if line.startswith("rank ")]
    assert sorted(int(w[1]) for w in lines) == [0, 1, 2, 3], output
    assert {w[3] for w in lines} == {"4"}, output
    assert {w[5] for w in lines} == {f"{cluster}-node1", f"{cluster}-node2"}, output
    assert {w[7] for w in lines} == {"10"}, output
