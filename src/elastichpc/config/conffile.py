"""Read cluster.conf the way the guide writes it.

`[SECTION]` headers, `KEY = VALUE` lines, keys spelled with spaces or underscores, `#` starting a
comment at the start of a line or after white space. Values like `<ACCESS KEY>` are the guide's
placeholders: they count as "not set". Every error names the file, line, section and key.
"""

from __future__ import annotations

import difflib
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from .schema import SECTIONS, lookup, normalize
from .textfile import read_regular

CONF_LIMIT = 1 << 20  # a cluster.conf is a few KB

_COMMENT = re.compile(r"(^|\s)#.*$")
_PLACEHOLDER = re.compile(r"^<[^<>]*>$")
_TITLE = re.compile(r"^[A-Z]+( [A-Z]+)+$")


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


def _read(path: Path) -> str:
    """The file's text, or one line saying why it is not a readable text file."""
    data = read_regular(path, CONF_LIMIT, "")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not a text file (byte {err.start} is not UTF-8): "
                          "is this the right cluster.conf?") from None
    if "\0" in text:
        raise ConfigError(f"{path}: not a text file (it holds NUL bytes): is this the right "
                          "cluster.conf?")
    return text


def _is_title(section: str, line: str) -> bool:
    """The guide prints bare titles under a header (`CLUSTER CONFIGURATION`): words in capitals,
    no digits, not starting like one of the section's keys (`CLUSTER SIZE 5` lacks its `=`)."""
    if not _TITLE.match(line):
        return False
    words = normalize(line)
    return not any(words.startswith(key) for key in SECTIONS.get(section, {}))


_notified: set[Path] = set()


def _notice(path: Path, titles: list[int]) -> None:
    """One line per file and process (some commands read the settings more than once)."""
    if titles and path not in _notified:
        _notified.add(path)
        lines = ", ".join(map(str, titles))
        print(f"ehpc: note: {path}: read the title line{'s' if len(titles) > 1 else ''} {lines} "
              "(words in capitals, no '=') as comments", file=sys.stderr)


def parse_conf(path: Path) -> RawConfig:
    text = _read(path)
    values: RawConfig = {}
    section = ""
    seen: dict[str, str] = {}  # section -> where its header is
    titles: list[int] = []
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
            if section in seen:
                raise ConfigError(f"{where}: [{section}] appears twice (first at {seen[section]}): "
                                  "keep one")
            seen[section] = where
            continue
        if "=" not in stripped:
            if _is_title(section, stripped):
                titles.append(number)
                continue
            raise ConfigError(f"{where}: expected KEY = VALUE, got {stripped!r}")
        if not section:
            raise ConfigError(f"{where}: {stripped!r} comes before any [SECTION] header")
        key, value = (part.strip() for part in stripped.split("=", 1))
        keydef = lookup(section, key)
        if keydef is None:
            names = {k.key: k.name for k in SECTIONS[section].values()}
            hint = suggest(normalize(key), names)
            raise ConfigError(f"{where}: [{section}] unknown key {key!r}{hint}")
        if (first := values.get((section, keydef.key))) is not None:
            raise ConfigError(f"{where}: [{section}] {keydef.name} is set twice (first at "
                              f"{first.source}): keep one")
        values[(section, keydef.key)] = RawValue(value, where)
    _notice(path, titles)
    return values
