"""Spec reference: the ``Study`` model -> Markdown (docs/spec.md), so each option is described once, in the model."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from .load import _model_of
from .model import Study

_INTRO = """\
# Study specification reference

Generated from the spec model (`reportgen/spec/model.py`) by
`python -m reportgen.spec.docs > docs/spec.md`; a test keeps it in step.
Unknown keys are errors. `reportgen schema` prints the same as JSON Schema.

## Selection expressions

`selection` steps use a small, safe expression language over the data columns (no
Python is evaluated): comparisons `== != < <= > >=` between a column and a literal
or two columns; `in [..]` and `not in [..]`; `is missing` and `is not missing`;
`and`, `or`, `not` and parentheses; literals are numbers, quoted strings, `true`,
`false` and `date('YYYY-MM-DD')`. Column names with spaces are written in
backquotes. **A comparison with a missing value is false** (also for `!=` and
`not in`): write `x != 'A' or x is missing` to exclude missing values too.
Steps apply in order; the count each one removes goes to the participant flow.
"""


def _type_name(annotation: Any) -> str:
    text = str(annotation).replace("typing.", "").replace("NoneType", "null")
    text = text.replace("<class '", "").replace("'>", "")
    return text.replace("datetime.date", "date").replace("reportgen.spec.model.", "")


def _section(model: type[BaseModel], path: str, out: list[str], seen: set[str]) -> None:
    out.append(f"\n## `{path}`\n" if path else "\n## Top level\n")
    doc = (model.__doc__ or "").strip()
    if doc:
        out.append(" ".join(doc.split()) + "\n")
    out.append("| key | type | default | description |")
    out.append("|---|---|---|---|")
    nested: list[tuple[type[BaseModel], str]] = []
    for name, field in model.model_fields.items():
        default = "required" if field.is_required() else repr(field.get_default(call_default_factory=True))
        sub = _model_of(field.annotation)
        if sub is not None:
            default = "see below" if not field.is_required() else "required, see below"
            key = f"{path}.{name}" if path else name
            if "dict[" in str(field.annotation):
                key += ".<id>"
            elif "list[" in str(field.annotation):
                key += "[]"
            nested.append((sub, key))
        desc = field.description or (" ".join((sub.__doc__ or "").split()) if sub is not None else "")
        desc = desc.replace("|", "\\|")
        type_name = _type_name(field.annotation).replace("|", "\\|")
        out.append(f"| `{name}` | `{type_name}` | `{default}` | {desc} |")
    for sub, key in nested:
        if key not in seen:
            seen.add(key)
            _section(sub, key, out, seen)


def markdown() -> str:
    out = [_INTRO]
    _section(Study, "", out, set())
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
