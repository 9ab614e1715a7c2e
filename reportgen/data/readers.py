"""Data readers: a data file (csv, tsv, xlsx, parquet; SAS, Stata, SPSS via sources) -> a raw pandas DataFrame plus its fingerprint.

Every column is read as it is stored; typing and checks happen in ``cohort``.
CSV text in UTF-8 (with or without BOM) or latin-1 is accepted; the delimiter is
detected among comma, semicolon, tab and pipe unless the spec gives it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import fail


@dataclass(frozen=True)
class RawData:
    frame: pd.DataFrame
    path: Path
    sha256: str


def _decode(raw: bytes, encoding: str | None, where: str) -> str:
    if encoding:
        try:
            return raw.decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise fail(
                f"cannot decode the file as {encoding}: {exc}",
                where=where,
                key="data.encoding",
                hint="remove data.encoding to detect it, or give the right one",
            ) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")  # every byte sequence is valid latin-1


def _sniff_delimiter(text: str) -> str:
    sample = "\n".join(text.splitlines()[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _check_header(text: str, sep: str, where: str) -> None:
    """Refuse a header naming a column twice (pandas would silently rename the second one)."""
    if len(sep) != 1:
        return
    header = [c.strip() for c in next(csv.reader(io.StringIO(text), delimiter=sep), [])]
    seen = {c for i, c in enumerate(header) if c and c in header[:i]}
    if seen:
        raise fail(
            f"column name(s) {', '.join(repr(c) for c in sorted(seen))} appear more than once in the header",
            where=where,
            rows=(1,),
            hint="give every column a distinct name",
        )


def read_table(
    path: Path, *, sheet: str | int | None = None, delimiter: str | None = None, encoding: str | None = None
) -> RawData:
    """Read one data file; raise a ``UserError`` naming the file when it cannot be read."""
    where = str(path)
    if path.is_dir():
        raise fail("this is a folder, not a data file", where=where, key="data.path", hint="give the path of the file")
    if not path.is_file():
        raise fail(
            "data file not found",
            where=where,
            key="data.path",
            hint="data.path is relative to the spec file's folder; check the name",
        )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise fail(
            f"cannot read the data file: {exc.strerror or exc}",
            where=where,
            key="data.path",
            hint="check that the file is readable by you",
        ) from None
    if not raw.strip():
        raise fail("the data file is empty", where=where, key="data.path")
    digest = hashlib.sha256(raw).hexdigest()
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".tsv", ".txt"):
            text = _decode(raw, encoding, where)
            sep = delimiter or ("\t" if suffix == ".tsv" else _sniff_delimiter(text))
            _check_header(text, sep, where)
            frame = pd.read_csv(
                io.StringIO(text),
                sep=sep,
                dtype=str,
                keep_default_na=False,
                na_values=["", "NA", "N/A", "NaN", "nan", "NULL", "null", "."],
            )
        elif suffix in (".xlsx", ".xlsm"):
            frame = pd.read_excel(io.BytesIO(raw), sheet_name=sheet if sheet is not None else 0)
        elif suffix == ".parquet":
            frame = pd.read_parquet(io.BytesIO(raw))
        elif suffix in (".sas7bdat", ".xpt", ".dta", ".sav", ".zsav", ".por"):
            from .sources import read_stat_file  # pyreadstat is imported only for these files

            frame = read_stat_file(path)
        else:
            raise fail(
                f"unsupported file type '{suffix}'",
                where=where,
                key="data.path",
                hint="use .csv, .tsv, .xlsx, .parquet, .sas7bdat, .xpt, .dta, .sav or .por",
            )
    except (ValueError, pd.errors.ParserError, OSError, KeyError) as exc:
        if isinstance(exc, pd.errors.EmptyDataError):
            raise fail("the data file has no columns", where=where) from None
        line = re.search(r"\bline (\d+)", str(exc))  # the CSV parser's 1-based line = spreadsheet row
        raise fail(
            f"cannot read the file: {str(exc).strip()}",
            where=where,
            rows=(int(line.group(1)),) if line else (),
            hint="check that the file is a valid table of the type its extension says",
        ) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.empty:
        raise fail("the data file has a header but no rows", where=where)
    return RawData(frame=frame.reset_index(drop=True), path=path, sha256=digest)
