# [SOFTWARE] PACKAGES: Debian packages on every node (at create, on every node joining later,
# and on every node of a running cluster with `ehpc cluster install`).
ehpc_software() {
  local want=() pkg
  for pkg in $EHPC_PACKAGES; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
      want+=("$pkg")
  done
  ehpc_install "${want[@]}"
}
