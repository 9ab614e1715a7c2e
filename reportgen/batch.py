"""Batches: one institutional spec -> the institution's report plus one report per unit, and an index page.

The data are read, protected and analysed once; the reports are then rendered in parallel (one
process per core, ``concurrent.futures.ProcessPoolExecutor``) into a staging folder beside the
output folder, which replaces the output folder when all are done. A unit whose report fails
is listed with its reason (on the index page and in the returned outcome) and does not stop
the others. Re-running on unchanged data and spec gives byte-identical HTML and results.json.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import UserError, fail

INSTITUTION = "institution"


@dataclass(frozen=True)
class Entry:
    label: str
    folder: str
    ok: bool
    reason: str | None = None
    user_error: bool = False
    pdf: bool = False


@dataclass(frozen=True)
class BatchOutcome:
    out_dir: Path
    entries: list[Entry]
    warnings: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[Entry]:
        return [e for e in self.entries if not e.ok]


def _slug(label: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-") or "unit"
    if base == INSTITUTION:
        base = "unit-institution"
    slug, k = base, 2
    while slug in taken:
        slug, k = f"{base}-{k}", k + 1
    taken.add(slug)
    return slug


def check_batch_folder(out_dir: Path) -> None:
    """Only a new or empty folder, or a previous batch (index.html and report folders), is replaced."""
    if out_dir.exists() and not out_dir.is_dir():
        raise fail("the output path is an existing file, not a folder", where=str(out_dir), key="--out")
    if out_dir.is_dir():
        entries = list(out_dir.iterdir())
        if entries and not (
            any(p.name == "index.html" for p in entries)
            and all(p.name == "index.html" or (p.is_dir() and (p / "results.json").exists()) for p in entries)
        ):
            raise fail(
                "the output folder exists and is not a previous batch of reports; it would be replaced as a whole",
                where=str(out_dir),
                key="--out",
                hint="give a new or empty folder, or a previous batch's folder",
            )


def _render_one(
    args: tuple[Any, Any, dict[str, Any], str | None, list[str], Path, Path],
) -> tuple[bool, str | None, bool, list[str]]:
    """Worker: render one report into ``target``; (ok, reason, user error?, warnings)."""
    from .institutional.build import report_files

    reg, counts, results, focus, formats, spec_dir, target = args
    try:
        files, warnings = report_files(reg, counts, results, focus, formats, spec_dir)
    except UserError as exc:
        first = exc.problems[0] if exc.problems else None
        reason = first.message if first is not None else str(exc)
        return False, reason, True, []
    except Exception as exc:  # noqa: BLE001 - one unit's failure must not stop the others
        return False, f"internal error: {type(exc).__name__}: {exc}", False, []
    for rel, data in files.items():
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return True, None, False, warnings


def render_batch(
    spec_path: str | Path,
    out_dir: str | Path | None,
    by: str,
    formats: Iterable[str] = ("html", "pdf"),
    progress: Callable[[str], None] | None = None,
    jobs: int | None = None,
) -> BatchOutcome:
    """Render the institution's report and one per unit of ``by`` (the unit column) into ``out_dir``."""
    from .build import _fill_and_swap, staging_folder
    from .format import NumberStyle
    from .institutional.build import prepare_all
    from .institutional.report import css
    from .render.env import make_env
    from .spec import load_study

    spec_path = Path(spec_path)
    formats = list(formats)
    study = load_study(spec_path)
    if study.kind != "institutional" or study.institutional is None:
        raise fail(
            "--by renders one report per unit of an institutional report",
            where=str(spec_path),
            key="kind",
            hint="set kind: institutional with an institutional: block",
        )
    unit = study.institutional.unit
    if by != unit.column:
        raise fail(
            f"--by {by}: reports are made per unit, and the unit column is '{unit.column}'",
            key="--by",
            hint=f"use --by {unit.column}",
        )
    out = (Path(out_dir) if out_dir is not None else Path("build") / spec_path.stem).resolve()
    check_batch_folder(out)
    say = progress or (lambda _m: None)
    say("Reading the data and protecting small numbers")
    reg, counts, results = prepare_all(study, spec_path)
    taken: set[str] = {INSTITUTION}
    tasks: list[tuple[str | None, str, str]] = [(None, "Whole institution", INSTITUTION)]
    tasks += [(u, reg.unit_labels[u], _slug(reg.unit_labels[u], taken)) for u in reg.units]
    spec_dir = spec_path.resolve().parent
    outcome: dict[str, tuple[bool, str | None, bool, list[str]]] = {}
    with staging_folder(out) as tmp:
        workers = max(1, min(jobs or os.cpu_count() or 1, len(tasks)))
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {
                pool.submit(_render_one, (reg, counts, results, focus, formats, spec_dir, tmp / folder)): folder
                for focus, _, folder in tasks
            }
            for done, fut in enumerate(as_completed(futures), start=1):
                outcome[futures[fut]] = fut.result()
                say(f"{done}/{len(tasks)} reports rendered")
        say("Writing the index page")
        entries = [
            Entry(label, folder, *outcome[folder][:2], user_error=outcome[folder][2], pdf="pdf" in formats)
            for _, label, folder in tasks
        ]
        env = make_env(NumberStyle())
        index = env.get_template("institutional/index.html.j2").render(
            title=study.title, unit_label=unit.label, entries=entries, css=css()
        )
        check_batch_folder(out)
        _fill_and_swap(tmp, out, {"index.html": index.encode("utf-8")})
    warnings = [f"{folder}: {w}" for folder, o in outcome.items() for w in o[3]]
    return BatchOutcome(out_dir=out, entries=entries, warnings=warnings)


def terminal_progress(quiet: bool) -> Callable[[str], None]:
    """A progress line rewritten in place on a terminal; nothing otherwise."""

    def say(message: str) -> None:
        if not quiet and sys.stderr.isatty():
            end = "\n" if not message[:1].isdigit() else ""
            print(f"\r\033[K{message}", end=end, file=sys.stderr, flush=True)

    return say
