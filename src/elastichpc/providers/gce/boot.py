"""Boot scripts as instance metadata.

The head gets its boot script as `startup-script`. The workers are made by one bulkInsert, which
gives every instance the same metadata, yet each worker's boot script is its own (host name and
host key). So the workers share a small `startup-script` that reads its instance name from the
metadata server and runs its own script out of `ehpc-boot-scripts`: a gzipped tar of every
worker's script, split over as many 256 KiB values as it needs (a thousand workers: two).
"""

from __future__ import annotations

import base64
import io
import tarfile

from ...errors import ConfigError
from ..base import NodePlan

ARCHIVE_KEY = "ehpc-boot-scripts"
VALUE_LIMIT = 256 * 1024  # one metadata value
TOTAL_LIMIT = 500 * 1024  # all metadata: 512 KiB, less room for the other keys


def worker_metadata(plans: list[NodePlan]) -> dict[str, str]:
    """Metadata items for the bulk of workers: the dispatcher and the archive, in chunks."""
    archive = _scripts_archive(plans)
    if len(archive) > TOTAL_LIMIT:
        raise ConfigError(f"the boot scripts of {len(plans)} workers do not fit in GCE metadata "
                          f"({len(archive)} bytes, limit {TOTAL_LIMIT}): create fewer workers")
    chunks = [archive[i:i + VALUE_LIMIT] for i in range(0, len(archive), VALUE_LIMIT)]
    items = {f"{ARCHIVE_KEY}-{n}": chunk for n, chunk in enumerate(chunks)}
    items["startup-script"] = _dispatcher(len(chunks))
    return items


def _dispatcher(chunks: int) -> str:
    return f"""#!/bin/bash
# ElasticHPC: run this worker's own boot script from the {ARCHIVE_KEY}-N metadata values.
set -euo pipefail
md=http://metadata.google.internal/computeMetadata/v1/instance
get() {{ curl -fsS --retry 5 -H 'Metadata-Flavor: Google' "$md/$1"; }}
node=$(get name)
for i in $(seq 0 {chunks - 1}); do get "attributes/{ARCHIVE_KEY}-$i"; done \\
  | base64 -d | tar -xzOf - "$node" | bash
"""


def _scripts_archive(plans: list[NodePlan]) -> str:
    """base64 of a gzipped tar holding one file per plan, named after the node."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=9) as archive:
        for plan in plans:
            data = plan.boot_script.encode()
            info = tarfile.TarInfo(plan.name)
            info.size, info.mode = len(data), 0o600
            archive.addfile(info, io.BytesIO(data))
    return base64.b64encode(buffer.getvalue()).decode()
