"""Jinja environment: template search path (user folder first, then the shipped templates) and filters.

Autoescaping is on for every template and undefined names are errors
(StrictUndefined). The environment is sandboxed because a spec may point at the
user's own template folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from ..format import NumberStyle, ci, num, p_text, percent, pvalue
from ..narrative import words
from ..resources import asset_dir


def make_env(
    style: NumberStyle, user_templates: Path | None = None, term_labels: dict[str, str] | None = None
) -> SandboxedEnvironment:
    term_labels = term_labels or {}
    search = ([str(user_templates)] if user_templates else []) + [str(asset_dir("templates"))]
    env = SandboxedEnvironment(
        loader=FileSystemLoader(search),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )

    def bind(fn: Any) -> Any:
        def bound(*args: Any, **kwargs: Any) -> Any:
            return fn(*args, style=style, **kwargs)

        return bound

    env.filters.update(
        {
            "num": lambda x, d=1: num(x, d, style),
            "pvalue": bind(pvalue),
            "p_text": bind(p_text),
            "ci": lambda pair, d=1: ci(pair[0], pair[1], d, style),
            "percent": bind(percent),
            "plural": words.plural,
            "g": lambda x: f"{x:g}",
            "term_label": lambda t: term_labels.get(t, t),
            "min": min,
            "max": max,
            "cap_first": words.cap_first,
            "lower_first": words.lower_first,
            "joined": words.joined,
            "duration": lambda t, unit: words.duration(t, unit, style),
            "landmark_label": words.landmark_label,
            "unit_singular": words.time_unit_singular,
        }
    )
    env.globals.update(
        {
            "style": style,
            "median_phrase": lambda g, unit, level: words.median_phrase(g, unit, level, style),
            "rate_phrase": lambda m, level: words.rate_phrase(m, level, style),
            "hr_phrase": lambda row, level, with_p=True: words.hr_phrase(row, level, style, with_p),
            "significant": words.significant,
            "conf_pct": words.conf_pct,
        }
    )
    return env
