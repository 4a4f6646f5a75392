# The part of examples/clients/run.sh that runs on the head, as the cluster user, in a login shell.
set -euo pipefail
example=$1
py=${EHPC_CLIENT_PYTHON:-}
if [ -z "$py" ]; then
  venv=$HOME/venvs/examples  # the home is shared: the venv works on every node
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  case $example in
    snakemake) packages="snakemake snakemake-executor-plugin-slurm snakemake-executor-plugin-cluster-generic" ;;
    psij) packages=psij-python ;;
    dask) packages=dask-jobqueue ;;
    drmaa) packages=drmaa ;;
  esac
  # shellcheck disable=SC2086
  "$venv/bin/pip" install -q $packages
  py=$venv/bin/python
fi
case $example in
  snakemake)
    mkdir -p fasta
    for i in 1 2 3 4 5 6; do  # synthetic reads of 200*i bases
      awk -v n=$((200 * i)) -v s="sample$i" 'BEGIN { srand(n); printf ">%s\n", s
        for (j = 0; j < n; j++) printf "%s", substr("ACGT", int(rand() * 4) + 1, 1); print "" }' \
        > "fasta/sample$i.fasta"
    done
    if [ -n "${SGE_ROOT:-}" ]; then  # Grid Engine: qsub via cluster-generic
      mkdir -p logs
      executor=(--jobs 6 --executor cluster-generic
                --cluster-generic-submit-cmd "qsub -V -cwd -j y -o logs -S /bin/bash -terse")
    else
      executor=()  # Slurm: the cluster's profile (SNAKEMAKE_PROFILE=ehpc) says how
    fi
    # shellcheck disable=SC2086
    "$py" -m snakemake "${executor[@]}" ${SNAKEMAKE_ARGS:-}
    cat summary.txt ;;
  psij) "$py" psij_jobs.py ;;
  dask) "$py" dask_sum.py ;;
  drmaa) "$py" drmaa_job.py ;;
esac
