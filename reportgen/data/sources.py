"""Data sources beyond plain files: a ``DataSource`` spec -> a raw pandas DataFrame plus its fingerprint.

- Statistical package files (SAS .sas7bdat/.xpt, Stata .dta, SPSS .sav/.zsav/.por) through pyreadstat.
- Databases: any SQLAlchemy URL with a query (``data: {url: ..., query: ...}``). ``${VAR}`` in the
  URL is replaced by the environment variable VAR; the expanded URL (user name, password, host
  details) is never written to an output or a message: the data are described as
  "<dialect> database '<name>'" and every secret is masked in error messages.
- DuckDB for large or many local files (``data: {path: "*.parquet", engine: duckdb}``): the files
  are the table ``data`` of an optional ``query``.

The fingerprint of a database or DuckDB source is the SHA-256 of the rows as CSV (column names,
then the values in the order the query returns them), so the same rows give the same fingerprint.
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ..errors import fail
from .readers import RawData, read_table

if TYPE_CHECKING:
    from ..spec.model import DataSource

STAT_SUFFIXES = (".sas7bdat", ".xpt", ".dta", ".sav", ".zsav", ".por")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def read_stat_file(path: Path) -> pd.DataFrame:
    """A SAS, Stata or SPSS file as a DataFrame (values as stored; SAS/SPSS dates become datetimes)."""
    import pyreadstat

    suffix = path.suffix.lower()
    readers = {
        ".sas7bdat": pyreadstat.read_sas7bdat,
        ".xpt": pyreadstat.read_xport,
        ".dta": pyreadstat.read_dta,
        ".sav": pyreadstat.read_sav,
        ".zsav": pyreadstat.read_sav,
        ".por": pyreadstat.read_por,
    }
    try:
        frame, _meta = readers[suffix](str(path))
    except pyreadstat.ReadstatError as exc:  # reported by the reader as "cannot read the file"
        raise ValueError(f"not a valid {suffix} file ({exc})") from None
    for name in frame.columns:
        col = frame[name]
        if col.dtype == object and col.notna().any():
            sample = col.dropna().iloc[0]
            if hasattr(sample, "year") and hasattr(sample, "month"):  # datetime.date / datetime objects
                frame[name] = pd.to_datetime(col, errors="coerce")
    return frame


def expand_env(url: str) -> tuple[str, list[str]]:
    """The URL with every ``${VAR}`` replaced by its environment value, and the values replaced (secrets)."""
    missing = sorted({m.group(1) for m in _VAR.finditer(url) if m.group(1) not in os.environ})
    if missing:
        raise fail(
            f"environment variable(s) {', '.join(missing)} named in data.url are not set",
            key="data.url",
            hint="set them before running (e.g. export DB_PASSWORD=...); credentials never go into the spec",
        )
    secrets = [os.environ[m.group(1)] for m in _VAR.finditer(url) if os.environ[m.group(1)]]
    return _VAR.sub(lambda m: os.environ[m.group(1)], url), secrets


def describe_url(url: str) -> str:
    """A description of a database that names no user, password, host or port."""
    try:
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
        dialect = parsed.get_backend_name()
        name = Path(parsed.database).name if parsed.database else ""
    except Exception:  # noqa: BLE001 - an unparsable URL is reported by the connection step
        dialect, name = url.split(":", 1)[0], ""
    return f"{dialect} database '{name}'" if name else f"{dialect} database"


def mask(text: str, secrets: list[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 2:
            text = text.replace(secret, "***")
    return text


def _fingerprint(frame: pd.DataFrame) -> str:
    return hashlib.sha256(frame.to_csv(index=False, lineterminator="\n").encode("utf-8")).hexdigest()


def _finish(frame: pd.DataFrame, label: str) -> RawData:
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.empty:
        raise fail("the query returned no rows", where=label, key="data.query")
    dup = sorted({c for i, c in enumerate(frame.columns) if c in list(frame.columns)[:i]})
    if dup:
        raise fail(
            f"column name(s) {', '.join(repr(c) for c in dup)} appear more than once in the result",
            where=label,
            key="data.query",
            hint="give every column a distinct name (use AS)",
        )
    return RawData(frame=frame.reset_index(drop=True), path=Path(label), sha256=_fingerprint(frame))


def read_database(source: DataSource) -> RawData:
    """Run ``source.query`` on the database at ``source.url`` (SQLAlchemy) and return its rows."""
    import sqlalchemy

    assert source.url is not None and source.query is not None
    url, secrets = expand_env(source.url)
    label = describe_url(url)
    try:
        engine = sqlalchemy.create_engine(url)
    except Exception as exc:  # noqa: BLE001 - unknown dialect, missing driver, malformed URL
        raise fail(
            f"cannot use the database URL: {mask(str(exc).splitlines()[0], secrets)}",
            where=label,
            key="data.url",
            hint="check the URL's form (dialect+driver://user:password@host:port/database) and that its driver is installed",
        ) from None
    try:
        with engine.connect() as conn:
            frame = pd.read_sql_query(sqlalchemy.text(source.query), conn)
    except Exception as exc:  # noqa: BLE001 - connection refused, authentication, SQL errors
        first = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        raise fail(
            f"the database query failed: {mask(first[0] if first else type(exc).__name__, secrets)}",
            where=label,
            key="data.query",
            hint="check the server, the credentials in the environment variables and the SQL",
        ) from None
    finally:
        engine.dispose()
    return _finish(frame, label)


def read_duckdb(source: DataSource, spec_dir: Path) -> RawData:
    """Read the files matching ``source.path`` (a glob, relative to the spec) with DuckDB."""
    import duckdb

    assert source.path is not None
    pattern = source.path if Path(source.path).is_absolute() else str(spec_dir / source.path)
    files = sorted(glob.glob(pattern))
    if not files:
        raise fail("no file matches data.path", where=pattern, key="data.path", hint="the path is relative to the spec")
    suffixes = {Path(f).suffix.lower() for f in files}
    if suffixes <= {".parquet"}:
        reader = "read_parquet"
    elif suffixes <= {".csv", ".tsv", ".txt"}:
        reader = "read_csv_auto"
    else:
        raise fail(
            f"engine: duckdb reads parquet or CSV files, not {', '.join(sorted(suffixes))}",
            where=pattern,
            key="data.path",
        )
    label = files[0] if len(files) == 1 else f"{pattern} ({len(files)} files)"
    con = duckdb.connect(":memory:")
    try:
        listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)  # views take no parameters
        con.execute(f"create view data as select * from {reader}([{listed}])")
        frame = con.execute(source.query or "select * from data").df()
    except duckdb.Error as exc:
        raise fail(
            f"DuckDB could not read the data: {str(exc).splitlines()[0]}",
            where=label,
            key="data.query" if source.query else "data.path",
            hint="the files are the table 'data' in the query",
        ) from None
    finally:
        con.close()
    digest = hashlib.sha256()
    for f in files:
        with open(f, "rb") as handle:
            for block in iter(lambda h=handle: h.read(1 << 20), b""):
                digest.update(block)
    raw = _finish(frame, label)
    return RawData(frame=raw.frame, path=Path(label), sha256=digest.hexdigest() if not source.query else raw.sha256)


def load_raw(source: DataSource, spec_dir: Path) -> RawData:
    """The study's raw data from a file, a database or DuckDB."""
    if source.url is not None:
        return read_database(source)
    assert source.path is not None
    if source.engine == "duckdb":
        return read_duckdb(source, spec_dir)
    path = (spec_dir / source.path) if not Path(source.path).is_absolute() else Path(source.path)
    return read_table(path, sheet=source.sheet, delimiter=source.delimiter, encoding=source.encoding)
