#!/usr/bin/env bash
# Run one of these examples on a cluster's head, as the cluster user, as users run them:
#   examples/clients/run.sh CLUSTER snakemake|psij|dask|drmaa
# The first run makes a venv in the cluster user's (shared) home and installs the tool from PyPI
# on the head (nodes reach the package registries). EHPC_CLIENT_PYTHON names a Python on the nodes
# that has the tools already (then nothing is installed); SNAKEMAKE_ARGS adds Snakemake options.
set -euo pipefail
[ $# = 2 ] || { echo "usage: $0 CLUSTER snakemake|psij|dask|drmaa" >&2; exit 2; }
cluster=$1 example=$2
here=$(cd "$(dirname "$0")" && pwd)
case $example in
  snakemake) file=Snakefile ;;
  psij) file=psij_jobs.py ;;
  dask) file=dask_sum.py ;;
  drmaa) file=drmaa_job.py ;;
  *) echo "unknown example $example: snakemake, psij, dask or drmaa" >&2; exit 2 ;;
esac
work=${EHPC_SHARED_DIR:-/shared}/examples/$example  # the top of the shared directory is the user's
on_head() { ${EHPC:-ehpc} ssh "$cluster" --user "${EHPC_CLUSTER_USER:-ehpcuser}" -- "$1"; }
on_head "mkdir -p $work"
on_head "cat > $work/$file" < "$here/$file"
on_head "cat > $work/on_head.sh" < "$here/on_head.sh"
on_head "cd $work && env EHPC_CLIENT_PYTHON=$(printf %q "${EHPC_CLIENT_PYTHON:-}") \
SNAKEMAKE_ARGS=$(printf %q "${SNAKEMAKE_ARGS:-}") bash -l on_head.sh $example"
