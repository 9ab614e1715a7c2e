"""Errors shared by every stage: a user's problem (exit 2) versus an internal error (exit 1).

A ``Problem`` is one thing wrong with the user's spec or data, located as precisely
as we can (file, key or column, row) and paired with what to do about it. Stages
collect problems and raise them together as one ``UserError`` so that the user
fixes everything in one round instead of one error per run.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    """One problem with the user's input.

    ``where`` is the file; ``key`` a spec key path (``endpoints.os.time``) or a data
    column; ``rows`` the 1-based data rows (as a spreadsheet shows them, header = row 1)
    where it applies; ``hint`` says what to do.
    """

    message: str
    where: str | None = None
    key: str | None = None
    rows: tuple[int, ...] = ()
    hint: str | None = None

    def render(self) -> str:
        loc = []
        if self.where:
            loc.append(self.where)
        if self.key:
            loc.append(self.key)
        head = ": ".join(loc)
        text = f"{head}: {self.message}" if head else self.message
        if self.rows:
            shown = ", ".join(str(r) for r in self.rows[:5])
            more = f" and {len(self.rows) - 5} more" if len(self.rows) > 5 else ""
            text += f" (row{'s' if len(self.rows) > 1 else ''} {shown}{more})"
        if self.hint:
            text += f"\n    -> {self.hint}"
        return text


@dataclass
class UserError(Exception):
    """One or more problems with the user's spec or data; the CLI exits with code 2."""

    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.render())

    def render(self) -> str:
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} found:"
        return "\n".join([head, *(f"  - {p.render()}" for p in self.problems)])

    def __str__(self) -> str:
        return self.render()


def fail(message: str, **kwargs: object) -> UserError:
    """Shorthand: ``raise fail("...", where=..., key=..., hint=...)``."""
    return UserError([Problem(message, **kwargs)])  # type: ignore[arg-type]


class Problems:
    """Collects problems; ``raise_if_any`` stops the run with all of them at once."""

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(self, message: str, **kwargs: object) -> None:
        self.items.append(Problem(message, **kwargs))  # type: ignore[arg-type]

    def extend(self, problems: Iterable[Problem]) -> None:
        self.items.extend(problems)

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        """Stop with every problem found; the same problem found twice (e.g. one event column
        shared by two endpoints) is reported once."""
        if self.items:
            raise UserError(list(dict.fromkeys(self.items)))


def did_you_mean(word: str, choices: Sequence[str]) -> str | None:
    """The closest valid spelling of ``word`` among ``choices``, if one is close."""
    by_lower = {str(c).lower(): str(c) for c in reversed(list(choices))}
    match = difflib.get_close_matches(str(word).lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[match[0]] if match else None


def rows_of(mask_index: Iterable[int]) -> tuple[int, ...]:
    """Convert 0-based data-frame positions into 1-based spreadsheet rows (header is row 1)."""
    return tuple(int(i) + 2 for i in mask_index)
