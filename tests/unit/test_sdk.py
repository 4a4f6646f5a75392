"""The one line a missing cloud SDK (or a library it imports) gives."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from elastichpc.errors import PrerequisiteError
from elastichpc.providers.sdk import require_sdk


def test_a_missing_sdk_is_named_with_its_extra() -> None:
    with pytest.raises(PrerequisiteError) as raised:
        require_sdk("AWS", "ehpc_no_such_sdk", "aws")
    assert str(raised.value) == "the AWS provider needs ehpc_no_such_sdk: pip install 'elastichpc[aws]'"


def test_a_library_the_sdk_cannot_import_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "ehpc_fake_sdk").mkdir()
    (tmp_path / "ehpc_fake_sdk" / "__init__.py").write_text("import ehpc_missing_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PrerequisiteError) as raised:
        require_sdk("GCE", "ehpc_fake_sdk", "gce")
    assert "needs ehpc_fake_sdk (it cannot import ehpc_missing_dependency:" in str(raised.value)
    assert "ehpc_fake_sdk" not in sys.modules


def test_an_installed_sdk_passes() -> None:
    require_sdk("local", "json", "local")
