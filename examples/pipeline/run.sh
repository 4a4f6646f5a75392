#!/usr/bin/env bash
# Your first pipeline, end to end: make test data here, push it to a cluster with `ehpc cp`, run
# the Snakemake workflow on the cluster (every rule a job of its scheduler), pull the results
# back and check them here with samtools.
#   examples/pipeline/run.sh CLUSTER [OUT]      (OUT: where the results land, ./pipeline-out)
# The cluster needs bwa and samtools on its nodes (create it with --packages bwa,samtools, or
# `ehpc cluster install CLUSTER bwa samtools`) and Snakemake on its head. EHPC_CLIENT_PYTHON
# names a Python on the head that has Snakemake (default: `snakemake` on the head's PATH).
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 CLUSTER [OUT]" >&2; exit 2; }
cluster=$1 out=${2:-./pipeline-out}
here=$(cd "$(dirname "$0")" && pwd)
ehpc=${EHPC:-ehpc}
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
python3 "$here/make_data.py" "$data/data"
cp "$here/Snakefile" "$data/"
# In: the workflow and its data into the cluster user's home (shared by every node).
$ehpc cp -r "$data/Snakefile" "$data/data" "$cluster:pipeline/"
snakemake=snakemake
[ -z "${EHPC_CLIENT_PYTHON:-}" ] || snakemake="$EHPC_CLIENT_PYTHON -m snakemake"
# The run: Snakemake on the head submits each rule with the cluster's profile (ehpc).
$ehpc ssh "$cluster" --user "${EHPC_CLUSTER_USER:-ehpcuser}" -- \
  "cd ~/pipeline && $snakemake --profile ehpc --jobs 4 ${SNAKEMAKE_ARGS:-}"
# Out: the results back to this machine, checked here.
mkdir -p "$out"
$ehpc cp -r "$cluster:pipeline/results" "$out/"
if command -v samtools >/dev/null; then
  samtools quickcheck "$out"/results/*.bam && echo "samtools quickcheck: every BAM is whole"
fi
cat "$out/results/summary.tsv"
