"""The list `filter` expressions Compute Engine accepts, as far as the provider uses them.

Supported: comparisons `field = value`, `field != value`, `field eq regex`, `field ne regex`, each
optionally in parentheses, joined by blanks or AND. Dotted fields reach into nested objects
(`labels.ehpc-cluster`, `scheduling.provisioningModel`). Anything else is refused with 400, as
the real service does for an expression it cannot parse.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

_TERM = re.compile(
    r"""\s*\(?\s*(?P<field>[A-Za-z][\w.\-]*)\s*(?P<op>!=|=|\beq\b|\bne\b)\s*
        (?:"(?P<quoted>[^"]*)"|'(?P<single>[^']*)'|(?P<bare>[^\s()]+))\s*\)?\s*(?:AND\s+)?""",
    re.VERBOSE,
)

Predicate = Callable[[dict[str, Any]], bool]


class FilterError(ValueError):
    pass


def _field(resource: dict[str, Any], path: str) -> str | None:
    value: Any = resource
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value if isinstance(value, str) else None if value is None else str(value).lower()


def parse_filter(expression: str) -> Predicate:
    terms: list[tuple[str, str, str]] = []
    position = 0
    text = expression.strip()
    while position < len(text):
        match = _TERM.match(text, position)
        if not match or match.end() == position:
            raise FilterError(f"Invalid list filter expression '{expression}'.")
        value = next(v for v in (match["quoted"], match["single"], match["bare"]) if v is not None)
        terms.append((match["field"], match["op"], value))
        position = match.end()

    def matches(resource: dict[str, Any]) -> bool:
        for field, op, value in terms:
            actual = _field(resource, field)
            if op == "=" and actual != value:
                return False
            if op == "!=" and actual == value:
                return False
            if op in ("eq", "ne") and (re.fullmatch(value, actual or "") is not None) != (op == "eq"):
                return False
        return True

    return matches
