"""ARM template deployments for the ARM fake: the template language's subset that ehpc writes
(`[concat()]`, `[copyIndex()]`, `[parameters()]`, `[resourceId()]`, string literals, numbers),
copy loops and `dependsOn`, expanded into the resources the real deployment engine would PUT,
in dependency order. Anything else is refused as ARM refuses a bad template."""

from __future__ import annotations

import re
from typing import Any

FUNCTIONS = {"concat", "copyindex", "parameters", "resourceid", "string"}
TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+)|(?P<name>[A-Za-z]+)|(?P<punct>[(),]))")


class TemplateError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


class _Expression:
    def __init__(self, text: str, params: dict[str, Any], index: int | None, group_id: str) -> None:
        self.tokens = self._tokens(text)
        self.at, self.params, self.index, self.group_id = 0, params, index, group_id

    @staticmethod
    def _tokens(text: str) -> list[tuple[str, str]]:
        out, at = [], 0
        while at < len(text):
            found = TOKEN.match(text, at)
            if not found or found.end() == at:
                if text[at:].strip() == "":
                    break
                raise TemplateError("InvalidTemplate", f"cannot read the expression at {text[at:]!r}")
            kind = found.lastgroup or ""
            out.append((kind, found.group(kind)))
            at = found.end()
        return out

    def _next(self) -> tuple[str, str]:
        if self.at >= len(self.tokens):
            raise TemplateError("InvalidTemplate", "the expression ends too early")
        self.at += 1
        return self.tokens[self.at - 1]

    def value(self) -> Any:
        kind, text = self._next()
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if kind == "num":
            return int(text)
        if kind != "name" or text.lower() not in FUNCTIONS:
            raise TemplateError("InvalidTemplate", f"the template function '{text}' is not valid")
        if self._next() != ("punct", "("):
            raise TemplateError("InvalidTemplate", f"'{text}' must be called with (...)")
        args: list[Any] = []
        if self.tokens[self.at] == ("punct", ")"):
            self.at += 1
        else:
            while True:
                args.append(self.value())
                sep = self._next()
                if sep == ("punct", ")"):
                    break
                if sep != ("punct", ","):
                    raise TemplateError("InvalidTemplate", f"expected ',' or ')' in {text}(...)")
        return self._call(text.lower(), args)

    def _call(self, name: str, args: list[Any]) -> Any:
        if name == "concat":
            return "".join(str(a) for a in args)
        if name == "string":
            return str(args[0])
        if name == "parameters":
            if args[0] not in self.params:
                raise TemplateError("InvalidTemplate", f"The template parameter '{args[0]}' is not found.")
            return self.params[args[0]]
        if name == "copyindex":
            if self.index is None:
                raise TemplateError("InvalidTemplate", "The template function 'copyIndex' is not "
                                    "expected at this location.")
            offset = next((a for a in args if isinstance(a, int)), 0)
            return self.index + offset
        # resourceId('Namespace/type', 'name'): in this deployment's group
        return f"{self.group_id}/providers/{args[0]}/{'/'.join(str(a) for a in args[1:])}"


def evaluate(value: Any, params: dict[str, Any], index: int | None, group_id: str) -> Any:
    """Every `[expression]` string inside `value`, evaluated; `[[` escapes a literal `[`."""
    if isinstance(value, dict):
        return {k: evaluate(v, params, index, group_id) for k, v in value.items()}
    if isinstance(value, list):
        return [evaluate(v, params, index, group_id) for v in value]
    if isinstance(value, str) and value.startswith("[") and value.endswith("]"):
        if value.startswith("[["):
            return value[1:]
        expression = _Expression(value[1:-1], params, index, group_id)
        result = expression.value()
        if expression.at != len(expression.tokens):
            raise TemplateError("InvalidTemplate", f"unexpected text after the expression {value}")
        return result
    return value


Planned = tuple[str, str, dict[str, Any]]  # resource id, type, body


def expand(template: dict[str, Any], parameters: dict[str, Any], group_id: str) -> list[list[Planned]]:
    """Every resource (copy loops unrolled) as (resource id, type, body), in waves: the engine
    creates a wave's resources at once, each after every wave it depends on."""
    for key in ("$schema", "contentVersion", "resources"):
        if key not in template:
            raise TemplateError("InvalidTemplate", f"The template is missing '{key}'.")
    declared = template.get("parameters", {})
    params = {}
    for name, spec in declared.items():
        if name in parameters:
            params[name] = parameters[name]["value"]
        elif "defaultValue" in spec:
            params[name] = spec["defaultValue"]
        else:
            raise TemplateError("InvalidTemplate", f"The value for the template parameter '{name}' "
                                "is not provided.")
    unknown = set(parameters) - set(declared)
    if unknown:
        raise TemplateError("InvalidTemplate", f"The template parameters '{', '.join(sorted(unknown))}' "
                            "are not valid; they are not present in the original template.")
    planned: list[tuple[str, str, dict[str, Any], list[str], str]] = []
    for resource in template["resources"]:
        copy = resource.get("copy")
        count = int(evaluate(copy["count"], params, None, group_id)) if copy else 1
        for index in range(count):
            body = evaluate({k: v for k, v in resource.items() if k != "copy"}, params,
                            index if copy else None, group_id)
            type_, name = body.pop("type"), body.pop("name")
            body.pop("apiVersion", None)
            depends = body.pop("dependsOn", [])
            rid = f"{group_id}/providers/{type_}/{name}"
            planned.append((rid, type_, body, depends, copy["name"] if copy else ""))
    waves: list[list[Planned]] = []
    made: set[str] = set()
    while planned:
        ready = [p for p in planned if all(_met(d, made, planned) for d in p[3])]
        if not ready:
            raise TemplateError("InvalidTemplate", "Circular dependency detected on resources "
                                f"{', '.join(p[0].rsplit('/', 1)[1] for p in planned)}.")
        for item in ready:
            planned.remove(item)
        made |= {item[0].lower() for item in ready}
        waves.append([item[:3] for item in ready])
    return waves


def _met(dependency: str, made: set[str], planned: list[Any]) -> bool:
    """A dependency is a resource id or a copy loop's name; met once it is all made."""
    if dependency.startswith("/"):
        return dependency.lower() in made
    return not any(item[4] == dependency for item in planned)
