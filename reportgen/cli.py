"""Command line: ``reportgen render | validate | init | schema``.

Exit codes: 0 success; 2 a problem with the user's spec or data (a message naming
the file, key or column, row, and what to do; never a traceback); 1 an internal
error (a short message and the path of a log file holding the traceback, written to
the system's temporary folder); 130 after Ctrl-C (SIGINT) and 143 after SIGTERM, with the
previous report left as it was and no temporary folder left behind.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from . import __version__
from .errors import UserError, fail

EXIT_OK, EXIT_INTERNAL, EXIT_USER = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's own exit code 2 matches ours; keep its message
        self.print_usage(sys.stderr)
        self.exit(EXIT_USER, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="reportgen", description="Survival-analysis study reports (HTML, PDF) from one YAML spec.")
    p.add_argument("--version", action="version", version=f"reportgen {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    r = sub.add_parser(
        "render",
        help="analyse the data and write the report",
        description="Analyse the data and write report.html, report.pdf, results.json, "
        "figures/ and tables/ into the output folder.",
    )
    r.add_argument("spec", type=Path, help="study specification (YAML)")
    r.add_argument("--out", type=Path, default=None, help="output folder (default: build/<spec file stem>/)")
    r.add_argument("--format", default="html,pdf", help="comma-separated formats: html, pdf, docx (default: html,pdf)")
    r.add_argument("--quiet", action="store_true", help="print nothing but errors")
    r.add_argument(
        "--by",
        metavar="COLUMN",
        default=None,
        help="institutional reports: also one report per unit of COLUMN (the unit column), with an index page",
    )
    r.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        help="with data.engine: dask, the Dask scheduler to run on (e.g. tcp://host:8786); "
        "overrides compute.scheduler (default: a local cluster)",
    )

    v = sub.add_parser(
        "validate",
        help="check the spec and the data without rendering",
        description="Check the spec and the data; report every problem found.",
    )
    v.add_argument("spec", type=Path, help="study specification (YAML)")
    v.add_argument("--quiet", action="store_true", help="print nothing but errors")
    v.add_argument(
        "--scheduler", metavar="ADDRESS", default=None, help="with data.engine: dask, the Dask scheduler to check on"
    )

    i = sub.add_parser(
        "init",
        help="write a commented starter spec into a folder",
        description="Write DIR/study.yaml, a commented starter specification to edit.",
    )
    i.add_argument("dir", type=Path, help="folder to create or use")
    i.add_argument("--force", action="store_true", help="overwrite an existing study.yaml")

    sub.add_parser(
        "schema",
        help="print the spec's JSON Schema (for editor autocompletion)",
        description="Print the JSON Schema of the study specification.",
    )
    return p


def _progress(quiet: bool):  # type: ignore[no-untyped-def]
    start = time.perf_counter()

    def say(message: str) -> None:
        if not quiet and sys.stderr.isatty():
            print(f"[{time.perf_counter() - start:5.1f}s] {message}", file=sys.stderr, flush=True)

    return say


def _cmd_render(args: argparse.Namespace) -> int:
    from .build import build

    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    if args.by is not None:
        if args.scheduler is not None:
            raise fail(
                "--scheduler does not apply to batches (--by): they render on this machine's cores",
                key="--scheduler",
                hint="remove --scheduler; it is for specs with data.engine: dask",
            )
        return _cmd_render_batch(args, formats)
    result = build(args.spec, args.out, formats, progress=_progress(args.quiet), scheduler=args.scheduler)
    for w in result.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if not args.quiet:
        print(f"Report written to {result.out_dir}")
        for f in result.files:
            if f.parent == result.out_dir:
                print(f"  {f.name}")
    return EXIT_OK


def _cmd_render_batch(args: argparse.Namespace, formats: list[str]) -> int:
    """``render --by COLUMN``: every unit's report; failures listed at the end (exit 2 for a user error)."""
    from .batch import render_batch, terminal_progress

    outcome = render_batch(args.spec, args.out, args.by, formats, progress=terminal_progress(args.quiet))
    for w in outcome.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if not args.quiet:
        done = [e for e in outcome.entries if e.ok]
        print(f"{len(done)} of {len(outcome.entries)} reports written to {outcome.out_dir} (index.html)")
    for e in outcome.failed:
        print(f"reportgen: {e.label}: not produced: {e.reason}", file=sys.stderr)
    if any(not e.user_error for e in outcome.failed):
        return EXIT_INTERNAL
    return EXIT_USER if outcome.failed else EXIT_OK


def _cmd_validate(args: argparse.Namespace) -> int:
    import pandas as pd

    from .build import validate

    study, cohort = validate(args.spec, scheduler=args.scheduler)
    if not args.quiet:
        if study.data.engine == "dask":  # a ScaledCohort: counts only
            groups = pd.Series(cohort.group_counts).reindex(cohort.group_levels)  # type: ignore[attr-defined]
        else:
            groups = cohort.frame["group"].value_counts().reindex(cohort.group_levels)
        print(
            f"{args.spec}: OK. {cohort.n} patients included "
            f"({', '.join(f'{study.group_label(g)}: {int(n)}' for g, n in groups.items())}); "
            f"{len(study.endpoints)} endpoint(s), {len(study.covariates)} covariate(s)."
        )
    return EXIT_OK


def _cmd_init(args: argparse.Namespace) -> int:
    from .resources import asset_dir

    target = args.dir / "study.yaml"
    if target.exists() and not args.force:
        raise fail("study.yaml already exists", where=str(target), hint="use --force to overwrite it")
    args.dir.mkdir(parents=True, exist_ok=True)
    target.write_text((asset_dir("templates") / "starter" / "study.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    print(f"Wrote {target}. Edit it, then run: reportgen validate {target}")
    return EXIT_OK


def _cmd_schema(_: argparse.Namespace) -> int:
    from .spec import json_schema

    print(json_schema())
    return EXIT_OK


def _internal_error(exc: BaseException) -> int:
    """Write the traceback to a new log file in the system's temporary folder (a fresh name each
    time, readable by the user only); print one short message naming it."""
    try:
        fd, name = tempfile.mkstemp(prefix="reportgen-error-", suffix=".log")
        with os.fdopen(fd, "w", encoding="utf-8") as log:
            log.write("".join(traceback.format_exception(exc)))
        where = f"The full traceback is in {name}; please include it when you report the problem."
    except OSError:
        where = "The traceback could not be written to a log file (the temporary folder is not writable)."
    print(
        f"reportgen: internal error: {type(exc).__name__}: {exc}\n"
        f"This is a bug in reportgen, not in your input. {where}",
        file=sys.stderr,
    )
    return EXIT_INTERNAL


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that every cleanup (the temporary output folder) runs."""


def _raise_terminated(signum: int, _frame: object) -> None:
    raise Terminated(signum)


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into ``Terminated`` for the duration of a command (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USER
    commands = {"render": _cmd_render, "validate": _cmd_validate, "init": _cmd_init, "schema": _cmd_schema}
    try:
        with _sigterm_as_interrupt():
            return commands[args.command](args)
    except UserError as exc:
        print(f"reportgen: {exc.render()}", file=sys.stderr)
        return EXIT_USER
    except KeyboardInterrupt as exc:
        signum = signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT
        print(f"reportgen: interrupted ({signal.Signals(signum).name}); no output was changed.", file=sys.stderr)
        return 128 + signum
    except Exception as exc:  # noqa: BLE001 - the last line of defence: no raw traceback for users
        return _internal_error(exc)


if __name__ == "__main__":
    sys.exit(main())
