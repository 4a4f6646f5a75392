# For the tools users bring (bootstrap/clients.py): on a cluster whose jobs run on Slurm, the
# Snakemake profile `ehpc`, the cluster user's default.
ehpc_clients() {
  local dir
  [ -n "${EHPC_SNAKEMAKE_PROFILE:-}" ] || return 0
  dir=$(base64 -d <<< "$EHPC_SNAKEMAKE_PROFILE_DIR")
  ehpc_file "$dir/config.yaml" 0644 root:root <<< "$EHPC_SNAKEMAKE_PROFILE"
  ehpc_environment SNAKEMAKE_PROFILE "$(basename "$dir")"
}
