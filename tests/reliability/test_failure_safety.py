"""Failure safety: an error or an interruption at any stage leaves the previous report exactly as it
was, no partial files and no temporary folders; an internal error prints one short message naming a
log file (in the system's temporary folder) and no traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from reportgen.cli import main
from tests.conftest import ROOT

MINI_SPEC = """\
title: Mini study
data: {path: data.csv, id: pid}
group: {column: arm, reference: A}
endpoints:
  os: {label: Overall survival, time: months, event: died}
"""


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def previous(make_study, capsys) -> tuple[Path, Path, dict[str, bytes]]:
    """A study with a report already rendered into ``out``: (spec, out, the report's files)."""
    spec = make_study(MINI_SPEC)
    out = spec.parent / "out"
    assert main(["render", str(spec), "--out", str(out), "--format", "html", "--quiet"]) == 0
    capsys.readouterr()
    return spec, out, snapshot(out)


@pytest.fixture(autouse=True)
def log_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The system's temporary folder, for the internal-error log files of these tests."""
    folder = tmp_path_factory.mktemp("systemp")
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def assert_untouched(spec: Path, out: Path, before: dict[str, bytes]) -> None:
    assert snapshot(out) == before
    assert sorted(p.name for p in spec.parent.iterdir()) == ["data.csv", "out", "study.yaml"]  # no temporary folder


def test_error_in_the_pdf_writer_keeps_the_previous_report(previous, monkeypatch, capsys, log_dir):
    import reportgen.render.pdf as pdf

    spec, out, before = previous

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("the PDF writer broke")

    monkeypatch.setattr(pdf, "render_pdf", broken)
    code = main(["render", str(spec), "--out", str(out), "--format", "html,pdf"])
    err = capsys.readouterr().err
    assert code == 1
    assert_untouched(spec, out, before)
    assert "Traceback" not in err and len(err.strip().splitlines()) == 2
    assert err.startswith("reportgen: internal error: RuntimeError: the PDF writer broke\n")
    logs = list(log_dir.glob("reportgen-error-*.log"))
    assert len(logs) == 1 and f"The full traceback is in {logs[0]};" in err
    log = logs[0].read_text(encoding="utf-8")
    assert log.startswith("Traceback") and "the PDF writer broke" in log and "render_files" in log


def test_internal_error_in_the_analysis(previous, monkeypatch, capsys, log_dir):
    import reportgen.analysis.runner as runner

    spec, out, before = previous

    def broken(*_: object) -> None:
        raise ZeroDivisionError("division by zero in an estimator")

    monkeypatch.setattr(runner, "run_analyses", broken)
    code = main(["render", str(spec), "--out", str(out), "--format", "html"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert "internal error: ZeroDivisionError: division by zero in an estimator" in err
    assert "This is a bug in reportgen, not in your input." in err
    assert_untouched(spec, out, before)
    assert len(list(log_dir.glob("reportgen-error-*.log"))) == 1


def test_each_internal_error_gets_its_own_log(monkeypatch, capsys, log_dir, make_study):
    """Log files are created fresh (never a fixed name another user could have planted)."""
    import reportgen.analysis.runner as runner

    monkeypatch.setattr(runner, "run_analyses", lambda *_: 1 / 0)
    spec = make_study(MINI_SPEC)
    for _ in range(2):
        assert main(["render", str(spec), "--out", str(spec.parent / "out"), "--format", "html"]) == 1
    logs = sorted(log_dir.glob("reportgen-error-*.log"))
    assert len(logs) == 2
    assert all(oct(p.stat().st_mode & 0o777) == "0o600" for p in logs)
    assert len(capsys.readouterr().err.strip().splitlines()) == 4


def test_interrupt_in_the_pdf_writer_keeps_the_previous_report(previous, monkeypatch, capsys):
    import reportgen.render.pdf as pdf

    spec, out, before = previous

    def interrupted(*_: object, **__: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(pdf, "render_pdf", interrupted)
    code = main(["render", str(spec), "--out", str(out)])
    assert code == 130
    assert "reportgen: interrupted (SIGINT); no output was changed." in capsys.readouterr().err
    assert_untouched(spec, out, before)


def test_failed_swap_puts_the_previous_report_back(previous, monkeypatch, capsys):
    """The last step moves the finished folder into place; if that move fails, the previous
    report (already moved aside) is restored."""
    spec, out, before = previous
    real = os.replace

    def failing(src: str | Path, dst: str | Path) -> None:
        if Path(dst) == out.resolve() and ".old-" not in Path(src).name:
            raise OSError(28, "No space left on device")
        real(src, dst)

    monkeypatch.setattr(os, "replace", failing)
    code = main(["render", str(spec), "--out", str(out), "--format", "html"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"{out.resolve()}: --out: cannot write the report: No space left on device" in err
    assert "the previous report is unchanged" in err
    assert_untouched(spec, out, before)


def test_disk_full_while_writing(previous, monkeypatch, capsys):
    spec, out, before = previous
    real = Path.write_bytes
    calls: list[Path] = []

    def filling(self: Path, data: bytes) -> int:
        calls.append(self)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", filling)
    code = main(["render", str(spec), "--out", str(out), "--format", "html"])
    assert code == 2
    assert "--out: cannot write the report: No space left on device" in capsys.readouterr().err
    assert_untouched(spec, out, before)


def test_sigterm_handler_is_restored_after_a_command(make_study, capsys):
    handler = signal.getsignal(signal.SIGTERM)
    assert main(["validate", str(make_study(MINI_SPEC))]) == 0
    assert signal.getsignal(signal.SIGTERM) is handler
    capsys.readouterr()


SLOW_PDF = """\
import signal, sys, time
from pathlib import Path

import reportgen.render.pdf as pdf

signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with SIGINT ignored
real = pdf.render_pdf
marker = Path(sys.argv[1])


def slow(*args, **kwargs):
    marker.write_text("PDF stage started")
    result = real(*args, **kwargs)
    time.sleep(60)
    return result


pdf.render_pdf = slow

from reportgen.cli import main

sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
def test_signal_during_the_pdf_stage(previous, tmp_path, signum):
    """``reportgen render`` as a process, signalled once it is rendering the PDF (the temporary folder
    exists by then): the previous report stays intact and nothing is left behind."""
    spec, out, before = previous
    script = tmp_path.parent / f"slow_pdf_{signum}.py"
    script.write_text(textwrap.dedent(SLOW_PDF), encoding="utf-8")
    marker = tmp_path.parent / f"pdf_started_{signum}"
    proc = subprocess.Popen(
        [sys.executable, str(script), str(marker), "render", str(spec), "--out", str(out), "--quiet"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        while not (marker.exists() and list(spec.parent.glob(".out.*.tmp"))):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the PDF stage did not start"
            time.sleep(0.05)
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 128 + signum, err
    assert f"reportgen: interrupted ({signal.Signals(signum).name}); no output was changed." in err
    assert "Traceback" not in err
    assert_untouched(spec, out, before)
