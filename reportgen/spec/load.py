"""Spec loading: YAML file -> validated ``Study``, or a ``UserError`` listing every problem.

Each problem names the file, the key path (``endpoints.os.time``), the YAML line,
what was expected, and for an unknown key the nearest valid key.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from ..errors import Problem, UserError, did_you_mean, fail
from .model import Study


def _line_map(text: str) -> dict[tuple[str, ...], int]:
    """Map each key path in the YAML document to its 1-based line number."""
    lines: dict[tuple[str, ...], int] = {}

    def walk(node: yaml.Node, path: tuple[str, ...]) -> None:
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                sub = (*path, str(key.value))
                lines[sub] = key.start_mark.line + 1
                walk(value, sub)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, (*path, str(i)))

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return lines
    if root is not None:
        walk(root, ())
    return lines


def _duplicate_keys(text: str, where: str) -> list[Problem]:
    """Keys given twice in one mapping: YAML loaders keep the last silently, so one would be ignored."""
    problems: list[Problem] = []

    def walk(node: yaml.Node, path: tuple[str, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key, value in node.value:
                name, line = str(key.value), key.start_mark.line + 1
                if name in seen:
                    lines = f"on line {line}" if seen[name] == line else f"on lines {seen[name]} and {line}"
                    problems.append(
                        Problem(
                            f"key '{name}' is given twice ({lines}); only one would be used",
                            where=f"{where}, line {line}",
                            key=".".join((*path, name)),
                            hint="merge the two into one, or delete the one you do not mean",
                        )
                    )
                seen.setdefault(name, line)
                walk(value, (*path, name))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, (*path, str(i)))

    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is not None:
        walk(root, ())
    return problems


MAX_NODES = 100_000


def _expanded_size(root: yaml.Node | None) -> int:
    """Number of values the document holds once aliases are expanded (``*name`` copies an anchor),
    so that a few lines of nested aliases cannot make validation run for hours; -1 for a cycle."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise ValueError("cyclic alias")
        active.add(key)
        if isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        else:
            children = []
        total = 1 + sum(size(c) for c in children)
        active.discard(key)
        sizes[key] = total
        return total

    if root is None:
        return 0
    try:
        return size(root)
    except ValueError:
        return -1


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Valid key names of the model found by following ``loc`` (for did-you-mean)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int) or current is None:
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            # a dict of models (endpoints, covariates): the key is free, the value is the model
            continue
        current = _model_of(field.annotation)
    return list(getattr(current, "model_fields", {}).keys())


def _model_of(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_of(arg)
        if found is not None:
            return found
    return None


_EXPECTED = {
    "string_type": "a text value",
    "float_parsing": "a number",
    "float_type": "a number",
    "int_parsing": "a whole number",
    "bool_parsing": "true or false",
    "list_type": "a list (in YAML: [a, b] or lines starting with '- ')",
    "dict_type": "a mapping of keys to values",
    "model_type": "a mapping of keys to values",
    "date_from_datetime_parsing": "a date written YYYY-MM-DD",
    "date_parsing": "a date written YYYY-MM-DD",
}


def _problem(err: dict[str, Any], where: str, lines: dict[tuple[str, ...], int]) -> Problem:
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    # pydantic puts union member names into loc (e.g. 'str', 'int'); drop them
    loc = tuple(p for p in loc if p not in ("str", "int", "float", "list[str]", "date"))
    key = ".".join(str(p) for p in loc) or None
    line = None
    for n in range(len(loc), -1, -1):
        line = lines.get(tuple(str(p) for p in loc[:n]))
        if line is not None:
            break
    place = f"{where}, line {line}" if line else where
    kind = err["type"]
    hint = None
    if kind == "extra_forbidden":
        valid = _fields_at(Study, loc[:-1])
        guess = did_you_mean(str(loc[-1]), valid)
        message = f"unknown key '{loc[-1]}'"
        hint = f"did you mean '{guess}'?" if guess else f"valid keys here: {', '.join(valid)}"
    elif kind == "missing":
        message = "this key is required but missing"
        desc = _description(loc)
        hint = f"add '{loc[-1]}:' ({desc})" if desc else f"add '{loc[-1]}:'"
    elif kind == "literal_error":
        message = f"{err['input']!r} is not allowed"
        hint = f"use one of: {err['ctx']['expected']}"
    elif kind in _EXPECTED:
        message = f"expected {_EXPECTED[kind]}, got {err['input']!r}"
    else:
        message = err["msg"].removeprefix("Value error, ")
    return Problem(message, where=place, key=key, hint=hint)


def _description(loc: tuple[Any, ...]) -> str | None:
    current: Any = Study
    desc = None
    for part in loc:
        if isinstance(part, int) or current is None:
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            continue
        desc = field.description
        current = _model_of(field.annotation)
    return desc


def parse_study(data: Any, where: str = "<spec>", text: str = "") -> Study:
    """Validate a parsed YAML mapping into a ``Study`` (all problems reported together)."""
    if not isinstance(data, dict):
        raise fail(
            "the spec must be a mapping of keys to values",
            where=where,
            hint="start from `reportgen init DIR` for a commented example",
        )
    try:
        return Study.model_validate(data)
    except ValidationError as exc:
        lines = _line_map(text)
        errors = _without_misspelt_missing(exc.errors())
        problems = [_problem(e, where, lines) for e in errors]
        raise UserError(list(dict.fromkeys(problems))) from None


def _without_misspelt_missing(errors: list[Any]) -> list[Any]:
    """Drop "required key missing" when an unknown key beside it is its misspelling: the
    did-you-mean of the unknown key ('colum' -> 'column') already says what to do."""
    guessed = set()
    for err in errors:
        if err["type"] == "extra_forbidden":
            loc = tuple(err["loc"])
            guess = did_you_mean(str(loc[-1]), _fields_at(Study, loc[:-1]))
            if guess:
                guessed.add((*loc[:-1], guess))
    return [e for e in errors if not (e["type"] == "missing" and tuple(e["loc"]) in guessed)]


def load_study(path: str | Path) -> Study:
    """Read and validate a study spec file."""
    path = Path(path)
    if not path.is_file():
        raise fail(
            "spec file not found", where=str(path), hint="check the path, or create one with `reportgen init DIR`"
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise fail(
            f"the spec is not UTF-8 text ({exc.reason} at byte {exc.start})",
            where=str(path),
            hint="save the file as UTF-8",
        ) from None
    except OSError as exc:
        raise fail(
            f"cannot read the spec file: {exc.strerror or exc}",
            where=str(path),
            hint="check that the file is readable by you",
        ) from None
    try:
        size = _expanded_size(yaml.compose(text, Loader=yaml.SafeLoader))
        if size < 0 or size > MAX_NODES:
            raise fail(
                "the spec refers to itself through YAML aliases ('*name')"
                if size < 0
                else f"the spec expands to more than {MAX_NODES} values through YAML aliases ('*name')",
                where=str(path),
                hint="write the values out instead of repeating anchors ('&name') inside each other",
            )
        data = yaml.safe_load(text)
    except RecursionError:
        raise fail("the spec is nested too deeply", where=str(path), hint="a study spec needs a few levels") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        place = f"{path}, line {mark.line + 1}, column {mark.column + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        context, start = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        if context and start is not None and (mark is None or start.line != mark.line):
            problem += f" ({context} that starts at line {start.line + 1}, column {start.column + 1})"
        hint = "check indentation and quoting near that line (quote values containing ': ' or '#')"
        if "'\\t'" in problem:
            hint = "indent with spaces: YAML does not allow tab characters"
        raise fail(f"malformed YAML: {problem}", where=place, hint=hint) from None
    duplicates = _duplicate_keys(text, str(path))
    if duplicates:
        raise UserError(duplicates)
    return parse_study(data, where=str(path), text=text)


def json_schema() -> str:
    """The spec's JSON Schema, for editor autocompletion."""
    schema = Study.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "reportgen study specification"
    return json.dumps(schema, indent=2, sort_keys=True)
