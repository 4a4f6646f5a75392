"""Read cluster.conf the way the guide writes it.

`[SECTION]` headers, `KEY = VALUE` lines, keys spelled with spaces or underscores, `#` starting a
comment at the start of a line or after white space. Values like `<ACCESS KEY>` are the guide's
placeholders: they count as "not set". Every error names the file, line, section and key.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from .schema import SECTIONS, lookup, normalize

_COMMENT = re.compile(r"(^|\s)#.*$")
_PLACEHOLDER = re.compile(r"^<[^<>]*>$")


@dataclass(frozen=True)
class RawValue:
    text: str
    source: str  # "cluster.conf:12" or "--aws-region"

    @property
    def is_placeholder(self) -> bool:
        return bool(_PLACEHOLDER.match(self.text))


RawConfig = dict[tuple[str, str], RawValue]  # (SECTION, normalized key) -> value


def suggest(word: str, choices: dict[str, str]) -> str:
    """' (did you mean X?)' for the closest of `choices` (matched on keys, shown as values)."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {choices[close[0]]}?)" if close else ""


def parse_conf(path: Path) -> RawConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"{path}: cannot read: {err.strerror}") from None
    values: RawConfig = {}
    section = ""
    for number, line in enumerate(text.splitlines(), start=1):
        where = f"{path}:{number}"
        stripped = _COMMENT.sub("", line).strip()
        if not stripped:
            continue
        if stripped.startswith("["):
            if not stripped.endswith("]"):
                raise ConfigError(f"{where}: a section header needs a closing ']': {stripped!r}")
            section = stripped[1:-1].strip().upper()
            if section not in SECTIONS:
                raise ConfigError(
                    f"{where}: unknown section [{section}]{suggest(section, {s: s for s in SECTIONS})}"
                )
            continue
        if "=" not in stripped:
            raise ConfigError(f"{where}: expected KEY = VALUE, got {stripped!r}")
        if not section:
            raise ConfigError(f"{where}: {stripped!r} comes before any [SECTION] header")
        key, value = (part.strip() for part in stripped.split("=", 1))
        keydef = lookup(section, key)
        if keydef is None:
            names = {k.key: k.name for k in SECTIONS[section].values()}
            hint = suggest(normalize(key), names)
            raise ConfigError(f"{where}: [{section}] unknown key {key!r}{hint}")
        values[(section, keydef.key)] = RawValue(value, where)
    return values
