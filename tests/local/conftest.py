"""Local clusters are real: these tests need root and the system packages."""

from __future__ import annotations

import pytest

from ..conftest import have_local_cluster_support

reason = have_local_cluster_support()
if reason:
    pytest.skip(reason, allow_module_level=True)
