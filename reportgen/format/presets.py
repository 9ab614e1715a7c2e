"""House styles: a preset name -> the NumberStyle and the CSS file that give a journal's look.

``default`` is reportgen's own; ``bmc`` follows BMC journals (p-values to 3 decimals,
"95% CI 0.38–1.01"); ``lancet`` follows The Lancet (middle-dot decimals "0·38", p-values
written "p=0·032" without spaces, CIs as "0·38–1·01"). The CSS lives in styles/presets/.
"""

from __future__ import annotations

from .numbers import NumberStyle

PRESETS: dict[str, NumberStyle] = {
    "default": NumberStyle(),
    "bmc": NumberStyle(ci_separator="\u2013", p_digits=3, p_prefix_space=True),
    "lancet": NumberStyle(decimal_mark="\u00b7", ci_separator="\u2013", p_prefix_space=False),
}


def number_style(name: str) -> NumberStyle:
    """The NumberStyle of a preset (a ValueError names the valid presets)."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown style {name!r}; choose from {', '.join(PRESETS)}") from None
