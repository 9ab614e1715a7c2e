"""Formatting stage: raw numbers -> display strings, per an explicit ``NumberStyle``."""

from .numbers import DEFAULT, NumberStyle, ci, count_percent, num, p_text, percent, pvalue, round_half_up

__all__ = ["DEFAULT", "NumberStyle", "ci", "count_percent", "num", "p_text", "percent", "pvalue", "round_half_up"]
