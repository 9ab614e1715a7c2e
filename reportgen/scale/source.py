"""Partitioned input (scale-out stage): ``data.path`` (a file or a glob) in, a list of ``Piece`` descriptions out.

A piece is what one task reads: a run of row groups of one Parquet file (about
``partition_rows`` rows), or one whole CSV/TSV file (read exactly as the in-memory path reads it,
``readers.read_table``, so a value means the same on both paths). Pieces are described on the
client from the files' footers (read by the workers) and read by the workers; no piece, and no
whole table, is ever held by this process. Row numbers in messages are the rows of the piece's own
file (header = row 1), as the in-memory path gives them for one file.

The fingerprint (``results.json`` ``input.sha256``) of one file is the SHA-256 of its bytes, as on
the in-memory path; of several files, the SHA-256 of the lines "<sha256 of the file>  <file name>"
in file-name order (each file hashed by a worker).
"""

from __future__ import annotations

import glob
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ..errors import fail

if TYPE_CHECKING:
    from dask.distributed import Client

    from ..spec.model import DataSource

PARQUET = (".parquet", ".parq")
TEXT = (".csv", ".tsv", ".txt")
DEFAULT_PARTITION_ROWS = 500_000


@dataclass(frozen=True)
class Piece:
    """One task's share of the input: ``row_groups`` of a Parquet file (None for a text file),
    starting at row ``offset`` of that file."""

    path: str
    kind: str  # "parquet" or "text"
    row_groups: tuple[int, ...] | None
    offset: int
    n_rows: int | None


@dataclass(frozen=True)
class Source:
    """The files of a partitioned source, their pieces, and what results.json says about them."""

    files: list[str]
    pieces: list[Piece]
    label: str
    sha256: str
    n_rows: int | None  # known up front for Parquet; for text files counted while reading
    columns: list[str]


def resolve_files(source: DataSource, spec_dir: Path) -> tuple[list[str], str]:
    """The files matching ``data.path`` (a path or a glob, relative to the spec), sorted, and a label."""
    assert source.path is not None
    pattern = source.path if Path(source.path).is_absolute() else str(spec_dir / source.path)
    files = sorted(glob.glob(pattern))
    if not files:
        raise fail(
            "no file matches data.path",
            where=pattern,
            key="data.path",
            hint="the path (or glob, e.g. registry/*.parquet) is relative to the spec file's folder",
        )
    suffixes = {Path(f).suffix.lower() for f in files}
    if not (suffixes <= set(PARQUET) or suffixes <= set(TEXT)):
        raise fail(
            f"engine: dask reads Parquet files or CSV/TSV files (one kind at a time), not {', '.join(sorted(suffixes))}",
            where=pattern,
            key="data.path",
            hint="convert the data to Parquet (one or many files of the same columns)",
        )
    label = Path(files[0]).name if len(files) == 1 else f"{source.path} ({len(files)} files)"
    return files, label


def parquet_layout(path: str) -> tuple[list[int], list[str]]:
    """Rows per row group and the column names of one Parquet file (its footer only)."""
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(path)
    except Exception as exc:  # noqa: BLE001 - reported as the user's file problem
        raise ValueError(f"{path}: not a readable Parquet file ({exc})") from None
    rows = [meta.metadata.row_group(i).num_rows for i in range(meta.metadata.num_row_groups)]
    return rows, list(meta.schema_arrow.names)


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def split_row_groups(path: str, rows: list[int], partition_rows: int) -> list[Piece]:
    """Consecutive row groups of one file gathered into pieces of about ``partition_rows`` rows."""
    pieces: list[Piece] = []
    start, acc, group = 0, 0, []
    offset = 0
    for i, n in enumerate(rows):
        if group and acc + n > partition_rows:
            pieces.append(Piece(path, "parquet", tuple(group), start, acc))
            start, acc, group = offset, 0, []
        group.append(i)
        acc += n
        offset += n
    if group or not pieces:
        pieces.append(Piece(path, "parquet", tuple(group), start, acc))
    return pieces


def open_source(
    source: DataSource, spec_dir: Path, client: Client, partition_rows: int = DEFAULT_PARTITION_ROWS
) -> Source:
    """Describe the partitioned input (files, pieces, fingerprint); the footers and the hashes are
    read by the workers."""
    files, label = resolve_files(source, spec_dir)
    digests = client.gather(client.map(file_sha256, files, pure=False))
    if len(files) == 1:
        sha = digests[0]
    else:
        lines = "".join(f"{d}  {Path(f).name}\n" for d, f in zip(digests, files, strict=True))
        sha = hashlib.sha256(lines.encode("utf-8")).hexdigest()
    if Path(files[0]).suffix.lower() in PARQUET:
        try:
            layouts = client.gather(client.map(parquet_layout, files, pure=False))
        except ValueError as exc:
            raise fail(str(exc), key="data.path", hint="check that every file is a complete Parquet file") from None
        pieces = [
            p for f, (rows, _) in zip(files, layouts, strict=True) for p in split_row_groups(f, rows, partition_rows)
        ]
        n_rows = sum(sum(rows) for rows, _ in layouts)
        columns = layouts[0][1]
        if n_rows == 0:
            raise fail("the data files have no rows", where=label, key="data.path")
    else:
        pieces = [Piece(f, "text", None, 0, None) for f in files]
        n_rows, columns = None, []
    return Source(files=files, pieces=pieces, label=label, sha256=sha, n_rows=n_rows, columns=columns)


def read_piece(piece: Piece, wanted: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """The wanted columns (those present) of one piece, indexed by row position in its file, and
    the names of every column of the file (for did-you-mean hints)."""
    if piece.kind == "parquet":
        import pyarrow.parquet as pq

        handle = pq.ParquetFile(piece.path)
        names = list(handle.schema_arrow.names)
        cols = [c for c in dict.fromkeys(wanted) if c in names]
        table = handle.read_row_groups(list(piece.row_groups or ()), columns=cols)
        frame = table.to_pandas()
    else:
        from ..data.readers import read_table

        raw = read_table(Path(piece.path))
        names = list(raw.frame.columns)
        frame = raw.frame[[c for c in dict.fromkeys(wanted) if c in names]]
    frame.index = pd.RangeIndex(piece.offset, piece.offset + len(frame))
    return frame, names
