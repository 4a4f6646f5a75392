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
command -v npm >/dev/null || { echo "install-azurite: npm is missing (apt-get install -y npm)" >&2; exit 1; }
mkdir -p "$DEST"
npm install --prefix "$DEST" --no-audit --no-fund --loglevel=error "azurite@$VERSION"
