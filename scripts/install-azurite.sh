#!/usr/bin/env bash
# Azurite (Azure Storage emulator) for the Azure provider's tests, into .tools/azurite/ of the
# project. 3.35.0 is the newest release that runs on Node 20; later ones need Node >= 21.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=3.35.0
DEST=.tools/azurite
if [ -x "$DEST/node_modules/.bin/azurite-blob" ] \
   && grep -q "\"version\": \"$VERSION\"" "$DEST/node_modules/azurite/package.json"; then
  exit 0
fi
if ! command -v npm >/dev/null; then  # Debian's own nodejs + npm (a NodeSource node brings npm)
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nodejs npm
fi
mkdir -p "$DEST"
npm install --prefix "$DEST" --no-audit --no-fund --loglevel=error "azurite@$VERSION"
