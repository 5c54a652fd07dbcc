"""Reading tabular data (CSV, Parquet) with errors that name the file and the column."""

from __future__ import annotations

import difflib
import io
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from .errors import DataError

PARQUET_MAGIC = b"PAR1"
_CHUNK = 1 << 20


def read_table(path: str | Path, *, categorical: Sequence[str] = ()) -> pd.DataFrame:
    """Read a CSV or Parquet file (by suffix, or by content when the suffix says neither).

    Parquet text columns named in ``categorical`` come back as categoricals with sorted
    categories (the file's dictionary pages, taken as they are), which saves hashing a
    million strings per column when they only serve as group labels.

    Args:
        path: The file.
        categorical: Columns to read as categoricals where the file allows.
    """
    path = Path(path)
    is_parquet = check_data_file(path)
    try:
        if is_parquet:
            frame = pd.read_parquet(path, read_dictionary=_text_columns(path, categorical))
        else:
            frame = pd.read_csv(path, low_memory=False)
    except (ValueError, OSError, pd.errors.ParserError) as exc:  # UnicodeDecodeError too
        if isinstance(exc, UnicodeDecodeError) and (bad := not_utf8(path.name, path)):
            raise bad from exc
        kind = "Parquet" if is_parquet else "CSV"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(
            f"Cannot read {path.name} as {kind}: {first}",
            hint="Give a UTF-8 CSV file with a header row, or a Parquet file.",
        ) from exc
    if frame.empty:
        raise DataError(f"{path.name} has no rows.", hint="Give a file with a header and rows.")
    for col in categorical:
        if col in frame.columns and isinstance(frame[col].dtype, pd.CategoricalDtype):
            cats = frame[col].cat.categories
            frame[col] = frame[col].cat.reorder_categories(sorted(cats, key=str))
    return frame


def check_data_file(path: Path) -> bool:
    """Check that ``path`` is a non-empty, readable file; True when it is Parquet (by
    suffix, or by content when the suffix says neither).

    Args:
        path: The file.
    """
    if not path.exists():
        raise DataError(f"No file at {path}.", hint="Check the path given to --data.")
    if path.is_dir():
        raise DataError(
            f"{path} is a folder, not a data file.", hint="Give a .csv or .parquet file."
        )
    if path.stat().st_size == 0:
        raise DataError(f"{path.name} is empty.", hint="Give a file with a header and rows.")
    suffix = path.suffix.lower()
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError as exc:
        raise DataError(
            f"Cannot read {path}: {exc.strerror}.", hint="Check the file's permissions."
        ) from exc
    return suffix in {".parquet", ".pq"} or (suffix != ".csv" and head == PARQUET_MAGIC)


def _text_columns(path: Path, names: Sequence[str]) -> list[str] | None:
    if not names:
        return None
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pq.read_schema(path)
    text = [
        f.name
        for f in schema
        if f.name in set(names) and (pa.types.is_string(f.type) or pa.types.is_large_string(f.type))
    ]
    return text or None


class BadByte(NamedTuple):
    """Where a file stops being UTF-8 text."""

    byte: int
    position: int  # from the file's start, counting from 0
    line: int  # counting from 1


def first_bad_byte(source: str | Path | bytes) -> BadByte | None:
    """The first byte of ``source`` that is not UTF-8 text, or None when it all is.

    The readers' own errors do not say where: pandas' codec error counts from the start
    of the field, not of the file, and pyarrow's names neither the byte nor its place.
    Read in 1 MB chunks, so a large file costs no more memory than one chunk.

    Args:
        source: A file's path, or its bytes.
    """
    with io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb") as fh:
        done = lines = 0  # bytes checked before ``carry``, and the newlines in them
        carry = b""  # a character cut at the end of the last chunk
        while True:
            chunk = fh.read(_CHUNK)
            buf = carry + chunk
            try:
                buf.decode("utf-8")
                good = len(buf)
            except UnicodeDecodeError as exc:
                # Cut at the chunk's end: decided with the next chunk, unless the file ended.
                if chunk and exc.end == len(buf) and len(buf) - exc.start < 4:
                    good = exc.start
                else:
                    at = exc.start
                    return BadByte(buf[at], done + at, lines + buf.count(b"\n", 0, at) + 1)
            if not chunk:
                return None
            lines += buf.count(b"\n", 0, good)
            done += good
            carry = buf[good:]


def not_utf8(name: str, source: str | Path | bytes) -> DataError | None:
    """A CSV that is not UTF-8 text (a spreadsheet, an image, another encoding), said in
    words with the byte and its place; None when the file is UTF-8 throughout.

    Every reader of CSV files (pandas for the memory engine and the demo's Batch page,
    pyarrow for the batched engine) says it with this, so they all read alike.

    Args:
        name: The file's name, for the message.
        source: The file's path, or its bytes.
    """
    bad = first_bad_byte(source)
    if bad is None:
        return None
    return DataError(
        f"Cannot read {name} as CSV: it is not UTF-8 text (byte 0x{bad.byte:02x} on line "
        f"{bad.line:,}, at position {bad.position:,}).",
        hint="Save it as CSV in UTF-8 (in Excel: Save As, CSV UTF-8); a spreadsheet or "
        "another kind of file cannot be read.",
    )


def read_csv_bytes(data: bytes, *, name: str) -> pd.DataFrame:
    """Read an uploaded CSV held in memory, with the same messages as ``read_table``.

    Args:
        data: The file's bytes.
        name: The file's name, for messages.
    """
    if not data:
        raise DataError(f"{name} is empty.", hint="Give a file with a header and rows.")
    try:
        frame = pd.read_csv(io.BytesIO(data), low_memory=False)
    except (ValueError, pd.errors.ParserError) as exc:  # UnicodeDecodeError too
        if isinstance(exc, UnicodeDecodeError) and (bad := not_utf8(name, data)):
            raise bad from exc
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(
            f"Cannot read {name} as CSV: {first}", hint="Give a UTF-8 CSV file with a header row."
        ) from exc
    if frame.empty:
        raise DataError(f"{name} has no rows.", hint="Give a file with a header and rows.")
    return frame


def require_columns(frame: pd.DataFrame, columns: Iterable[str], *, where: str, role: str) -> None:
    """Raise a DataError naming each missing column, with the closest match when there is one.

    Args:
        frame: The data.
        columns: The columns it must have.
        where: How messages name the data (``"eval.csv"``).
        role: What the columns are for (``"sensitive"``), for messages.
    """
    have = [str(c) for c in frame.columns]
    for col in columns:
        if col in frame.columns:
            continue
        close = difflib.get_close_matches(str(col), have, n=1)
        guess = f" Did you mean {close[0]!r}?" if close else ""
        raise DataError(
            f"The {role} column {col!r} is not in {where}.{guess}",
            hint="Columns there: " + ", ".join(have[:30]) + ("..." if len(have) > 30 else ""),
        )
