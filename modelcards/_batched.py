"""The batched engine: a card from a CSV or Parquet file read in Arrow record batches.

Memory stays nearly flat as rows grow: each batch (``BATCH_ROWS`` rows of only the
columns the card needs) is reduced to the additive tables of ``_aggregate`` and dropped.
What grows is the tables: the count table has a row per (group, label, prediction), the
score table one per (group, label, distinct score), so a model whose scores take a million
distinct values keeps up to a million entries per group and label (16 bytes each). The
scores wait as integer keys (``FLUSH_ROWS`` rows, 9 bytes each) and are sorted into the
score tables on a second core; that sort is the engine's main cost at scale.

Why Arrow record batches and not an embedded SQL engine: the reader is already a
dependency (pandas reads Parquet through it), a record batch hands numpy its columns
without copies, and the per-batch work (dictionary codes, a bincount, one sort of the
scores) is what the in-memory path does, so both give the same numbers by construction.

Every check of the in-memory path is made here with the same message: the distinct values
of the target, sensitive and prediction columns are counted with their first row, and
after the pass they are checked as the in-memory path checks the whole column. CSV text
becomes values exactly as pandas reads it (the distinct texts go through ``pd.read_csv``),
so groups, their names and their order match.
"""

from __future__ import annotations

import csv
import importlib
import io
import math
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ._aggregate import Aggregates, ScoreCell, _small, assess_aggregates, merge_cells
from ._background import background
from ._data import check_data_file, require_columns, sha256_file
from ._evaluate import Assessment
from .errors import DataError, ModelcardsError

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from ._pipeline import CardOptions, DataFacts, Predictions, PredictionSource
    from ._registry import LoadedModel

#: Rows per record batch: about 50 MB of the card's columns, whatever the file's size.
BATCH_ROWS = 1_000_000
#: ``--engine auto`` reads files larger than this in batches (about 4 million rows of
#: the synthetic data as Parquet, where the in-memory path peaks near 1.6 GB).
AUTO_BATCHED_BYTES = 100 * 2**20

Engine = Literal["auto", "memory", "batched", "spark"]

# What pandas reads as missing in a CSV (pandas' default na_values), so that the two
# readers agree on which cells are empty.
_PANDAS_NA = [
    "",
    "#N/A",
    "#N/A N/A",
    "#NA",
    "-1.#IND",
    "-1.#QNAN",
    "-NaN",
    "-nan",
    "1.#IND",
    "1.#QNAN",
    "<NA>",
    "N/A",
    "NA",
    "NULL",
    "NaN",
    "None",
    "n/a",
    "nan",
    "null",
]


class NotBinaryError(ModelcardsError):
    """The data make a regression card, which the batched engine does not compute."""


def choose_engine(engine: Engine, data: object) -> Literal["memory", "batched", "spark"]:
    """The engine ``auto`` stands for: batched for a file above ``AUTO_BATCHED_BYTES``,
    else in memory; other choices as given.

    Args:
        engine: The engine asked for.
        data: The ``--data`` argument (a path, a DataFrame or None).
    """
    if engine != "auto":
        return engine
    if isinstance(data, str | Path) and Path(data).is_file():
        return "batched" if Path(data).stat().st_size > AUTO_BATCHED_BYTES else "memory"
    return "memory"


# -- distinct values of a column, counted across batches ------------------------------
class _Values:
    """A column's distinct raw values, each with its count and first row."""

    def __init__(self, *, counting: bool = True) -> None:
        self.counting = counting  # rows per value: for the checks of missing values
        self.ids: dict[Any, int] = {}
        self.raw: list[Any] = []
        self.counts = np.zeros(0, dtype=np.int64)
        self.first: list[int] = []

    def codes(self, arr: pa.Array | pa.ChunkedArray, offset: int) -> NDArray[np.int64]:
        """Each row's value id; counts and first rows updated (``offset``: the batch's
        first row in the file)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        enc = arr if isinstance(arr, pa.DictionaryArray) else pc.dictionary_encode(arr)
        dictionary: list[Any] = enc.dictionary.to_pylist()
        indices = enc.indices
        if enc.null_count:
            indices = pc.fill_null(indices, len(dictionary))
            dictionary.append(None)
        idx: NDArray[np.int64] = np.asarray(indices.to_numpy(zero_copy_only=False), np.int64)
        known = len(self.raw)
        lookup = np.array([self._id(v) for v in dictionary], dtype=np.int64)
        if np.array_equal(lookup, np.arange(len(lookup))):
            codes = idx  # the same dictionary as before (Parquet's usual case): no lookup
        else:
            codes = lookup[idx] if len(lookup) else np.zeros(0, dtype=np.int64)
        if len(self.raw) > known:  # new values: their first rows in this batch
            first = np.full(len(self.raw), -1, dtype=np.int64)
            rows = np.arange(len(codes), dtype=np.int64)
            first[codes[::-1]] = rows[::-1]
            self.first += [int(first[i]) + offset for i in range(known, len(self.raw))]
            self.counts = np.append(self.counts, np.zeros(len(self.raw) - known, np.int64))
        if self.counting:
            self.counts += np.bincount(codes, minlength=len(self.raw))
        return codes

    def _id(self, value: Any) -> int:
        if isinstance(value, float) and math.isnan(value):
            value = None  # NaN is missing, as in pandas (and equal to itself here)
        got = self.ids.get(value)
        if got is None:
            got = self.ids[value] = len(self.raw)
            self.raw.append(value)
        return got


@dataclass
class _Column:
    """A column's distinct values as pandas holds them, after the pass."""

    values: pd.Series  # one per final value, in order of first appearance
    remap: NDArray[np.int64]  # raw id -> final value id (equal values merged)
    counts: NDArray[np.int64]  # rows per final value
    first: NDArray[np.int64]  # first row per final value


def _final(v: _Values, *, csv_text: bool) -> _Column:
    """The values pandas would hold: CSV texts parsed by pandas' own reader (so "01" and
    "1" are both 1), Parquet values as Arrow gave them; equal values merged."""
    if csv_text:
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(["v", "_"])
        for raw in v.raw:
            writer.writerow(["" if raw is None else raw, 0])
        typed = pd.read_csv(io.StringIO(buf.getvalue()), low_memory=False)["v"]
    else:
        typed = pd.Series(v.raw)
    order = np.argsort(np.asarray(v.first, dtype=np.int64), kind="stable")
    codes, uniques = pd.factorize(typed.iloc[order], use_na_sentinel=True)
    codes = np.where(codes < 0, len(uniques), codes)
    has_na = bool((np.asarray(codes) == len(uniques)).any())
    values = pd.Series(list(uniques) + ([None] if has_na else []), dtype=typed.dtype)
    remap = np.empty(len(v.raw), dtype=np.int64)
    remap[order] = codes
    k = len(values)
    counts = np.bincount(remap, weights=v.counts, minlength=k).astype(np.int64)
    first = np.full(k, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, remap, np.asarray(v.first, dtype=np.int64))
    return _Column(values, remap, counts, first)


# -- scores per cell, as order-preserving integer keys ------------------------------
#: Raw score keys held across batches before they are sorted into the tables (8 bytes a
#: row): fewer, larger sorts, and the growing tables are merged once per flush.
FLUSH_ROWS = 16_000_000
_SIGN = np.uint64(1 << 63)


def _score_keys(score: NDArray[np.float64]) -> NDArray[np.uint64]:
    """Unsigned keys in the scores' order (equal scores, equal keys): the sign bit of a
    positive score flipped, every bit of a negative one. ``+ 0.0`` makes -0.0 equal 0.0."""
    u = (np.ascontiguousarray(score, dtype=np.float64) + 0.0).view(np.uint64)
    flip = u >> np.uint64(63)  # 1 for a negative score
    flip *= np.uint64(0xFFFFFFFFFFFFFFFF)
    flip |= _SIGN
    u ^= flip
    return u


def _key_scores(key: NDArray[np.uint64]) -> NDArray[np.float64]:
    """The scores of keys (the inverse of ``_score_keys``)."""
    pos = (key >> np.uint64(63)).astype(bool)
    return np.where(pos, key & ~_SIGN, ~key).view(np.float64)


@dataclass
class _ScoreTable:
    """One (groups, target) cell's distinct score keys (ascending) with their counts."""

    keys: NDArray[np.uint64] = field(default_factory=lambda: np.zeros(0, np.uint64))
    counts: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))

    def merge(self, pending: list[NDArray[np.uint64]]) -> None:
        """Sort raw keys and merge them into the table."""
        if not pending:
            return
        raw = np.concatenate(pending) if len(pending) > 1 else pending[0]
        raw = np.sort(raw)  # numpy's vectorised sort of plain integers: no argsort
        new = np.ones(len(raw), dtype=bool)
        new[1:] = raw[1:] != raw[:-1]
        starts = np.flatnonzero(new)
        keys = raw[starts]
        counts = np.diff(np.append(starts, len(raw))).astype(np.int64)
        del raw
        if not len(self.keys):
            self.keys, self.counts = keys, counts
            return
        # Keys already in the table add their counts; the others are inserted in place
        # (both sorted, so the searches walk forward and the insert is one pass).
        at = np.searchsorted(self.keys, keys)
        found = at < len(self.keys)
        found[found] = self.keys[at[found]] == keys[found]
        self.counts[at[found]] += counts[found]  # distinct keys: no repeated index
        fresh = ~found
        if fresh.any():
            self.keys = np.insert(self.keys, at[fresh], keys[fresh])
            self.counts = np.insert(self.counts, at[fresh], counts[fresh])

    def total(self) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
        """The distinct scores, ascending, and how many rows have each."""
        return _key_scores(self.keys), self.counts


class _Waiting(NamedTuple):
    """A batch's score keys, not yet sorted into the tables, with each row's cell."""

    cell: NDArray[np.integer[Any]]  # the cell's code, of ``radix`` at that batch
    radix: list[int]
    keys: NDArray[np.uint64]


def _sort_in(tables: dict[tuple[int, ...], _ScoreTable], waiting: list[_Waiting]) -> None:
    """Split the waiting keys by cell (a radix sort of the small cell codes) and merge
    each cell's keys into its table with one sort."""
    parts: dict[tuple[int, ...], list[NDArray[np.uint64]]] = {}
    for w in waiting:
        by = np.argsort(w.cell, kind="stable")
        keys = w.keys[by]
        per = np.bincount(w.cell, minlength=math.prod(w.radix))
        present = np.flatnonzero(per)
        ends = np.cumsum(per[present]).tolist()
        for c, a, b in zip(present.tolist(), [0, *ends[:-1]], ends, strict=True):
            t = tuple(int(x) for x in np.unravel_index(c, w.radix))
            parts.setdefault(t, []).append(keys[a:b])
    waiting.clear()  # the raw keys go as the cells take them over
    for t, keys_of in parts.items():
        tables.setdefault(t, _ScoreTable()).merge(keys_of)


# -- the pass over the file -----------------------------------------------------------
@dataclass
class _Plan:
    """What the pass reads and how it gets each batch's predictions."""

    path: Path
    is_parquet: bool
    columns: list[str]  # every column of the file
    target: str
    sensitive: list[str]
    source: PredictionSource
    loaded: LoadedModel | None
    batch_rows: int


@dataclass
class _Pass:
    """Everything counted in one pass."""

    rows: int = 0
    sens: list[_Values] = field(default_factory=list)
    target: _Values = field(default_factory=_Values)
    preds: _Values = field(default_factory=_Values)  # predicted labels, when not cut
    cut: bool = True  # predictions are booleans (a threshold on scores)
    counts: dict[tuple[int, ...], int] = field(default_factory=dict)
    scores: dict[tuple[int, ...], _ScoreTable] = field(default_factory=dict)
    waiting: list[_Waiting] = field(default_factory=list)  # not yet in ``scores``
    waiting_rows: int = 0
    merging: Future[None] | None = None  # the tables' last merge, on the second core
    has_scores: bool = False
    missing_scores: int = 0
    bad_score: tuple[str, int] | None = None  # a non-number and its row


def _needed(plan: _Plan) -> list[str]:
    cols = [*plan.sensitive, plan.target]
    if plan.loaded is not None:
        cols += plan.loaded.feature_names
    elif plan.source.column is not None:
        cols.append(plan.source.column)
    return list(dict.fromkeys(cols))


def _batches(plan: _Plan) -> Iterator[pa.RecordBatch]:
    """The file's record batches, of only the needed columns."""
    import pyarrow as pa

    needed = _needed(plan)
    try:
        if plan.is_parquet:
            import pyarrow.parquet as pq

            pf = pq.ParquetFile(plan.path, read_dictionary=plan.sensitive)
            yield from pf.iter_batches(batch_size=plan.batch_rows, columns=needed)
        else:
            import pyarrow.csv as pacsv

            text = [*plan.sensitive, plan.target]
            if plan.loaded is None and plan.source.column is not None:
                text.append(plan.source.column)
            convert = pacsv.ConvertOptions(
                include_columns=needed,
                column_types={c: pa.string() for c in text},
                null_values=_PANDAS_NA,
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            )
            read = pacsv.ReadOptions(block_size=_block_size(plan.path, plan.batch_rows))
            with pacsv.open_csv(plan.path, read_options=read, convert_options=convert) as r:
                yield from r
    except (pa.ArrowException, OSError, UnicodeDecodeError) as exc:
        raise _unreadable(plan, exc) from exc


def _unreadable(plan: _Plan, exc: BaseException) -> DataError:
    kind = "Parquet" if plan.is_parquet else "CSV"
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return DataError(
        f"Cannot read {plan.path.name} as {kind}: {first}",
        hint="Give a UTF-8 CSV file with a header row, or a Parquet file"
        + ("" if plan.is_parquet else " (or try --engine memory, which reads it whole)")
        + ".",
    )


def _block_size(path: Path, batch_rows: int) -> int:
    """Bytes per CSV block for about ``batch_rows`` rows, from the first MB's lines."""
    with open(path, "rb") as fh:
        head = fh.read(1 << 20)
    lines = head.split(b"\n")
    longest = max((len(x) for x in lines), default=1) + 1
    avg = len(head) / max(len(lines), 1)
    return int(max(avg * batch_rows, 4 * longest, 1024))


def _column_names(path: Path, is_parquet: bool) -> list[str]:
    import pyarrow as pa

    try:
        if is_parquet:
            import pyarrow.parquet as pq

            return [str(n) for n in pq.ParquetFile(path).schema_arrow.names]
        import pyarrow.csv as pacsv

        with pacsv.open_csv(path, read_options=pacsv.ReadOptions(block_size=1 << 20)) as r:
            return [str(n) for n in r.schema.names]
    except (pa.ArrowException, OSError, UnicodeDecodeError) as exc:
        kind = "Parquet" if is_parquet else "CSV"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(
            f"Cannot read {path.name} as {kind}: {first}",
            hint="Give a UTF-8 CSV file with a header row, or a Parquet file.",
        ) from exc


def _run_pass(plan: _Plan) -> _Pass:
    st = _Pass(sens=[_Values(counting=False) for _ in plan.sensitive])
    kind = plan.source.kind
    st.cut = kind == "scores" or (kind == "model" and plan.source.threshold is not None)
    for batch in background_iter(_batches(plan)):
        n = batch.num_rows
        if not n:
            continue
        offset = st.rows
        sens = [
            v.codes(batch.column(c), offset) for v, c in zip(st.sens, plan.sensitive, strict=True)
        ]
        tcode = st.target.codes(batch.column(plan.target), offset)
        score, pred = _batch_predictions(plan, st, batch, offset)
        radix = [len(v.raw) for v in st.sens] + [len(st.target.raw)]
        cell = _mixed(sens + [tcode], radix)
        _add_counts(st, cell, radix, pred)
        if score is not None:
            st.has_scores = True
            _add_scores(st, cell, radix, score)
        st.rows += n
    _sort_waiting(st)
    _merged(st)
    return st


def background_iter(it: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """The batches of ``it``, the next one read on a second core while this one is
    counted (Arrow decodes without the GIL)."""
    nxt = background(next, it, None)
    while True:
        batch = nxt.result()
        if batch is None:
            return
        nxt = background(next, it, None)
        yield batch


def _mixed(codes: list[NDArray[np.int64]], radix: list[int]) -> NDArray[np.int64]:
    if math.prod(radix) >= 2**62:
        raise DataError(
            "The sensitive columns have too many distinct values to compare groups.",
            hint="Choose columns that name groups (a few to a few hundred values each).",
        )
    key = np.zeros(len(codes[0]), dtype=np.int64)
    for c, k in zip(codes, radix, strict=True):
        key = key * k + c
    return key


def _add_counts(
    st: _Pass, cell: NDArray[np.int64], radix: list[int], pred: NDArray[np.int64]
) -> None:
    k_pred = 2 if st.cut else max(len(st.preds.raw), 1)
    key = cell * k_pred + pred
    uniq, counts = _unique_counts(key, math.prod(radix) * k_pred)
    parts = np.unravel_index(uniq, [*radix, k_pred])
    for j, cnt in enumerate(counts.tolist()):
        t = tuple(int(p[j]) for p in parts)
        st.counts[t] = st.counts.get(t, 0) + cnt


def _unique_counts(
    key: NDArray[np.int64], size: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    if size <= max(4 * len(key), 1 << 16):
        counts = np.bincount(key, minlength=size)
        uniq = np.flatnonzero(counts)
        return uniq.astype(np.int64), counts[uniq]
    u, c = np.unique(key, return_counts=True)
    return u.astype(np.int64), c.astype(np.int64)


def _add_scores(
    st: _Pass, cell: NDArray[np.int64], radix: list[int], score: NDArray[np.float64]
) -> None:
    """The batch's score keys, held until ``FLUSH_ROWS`` rows wait; then all are sorted
    into the tables on the second core while the next batches are counted (numpy sorts
    without the GIL). One merge at a time, so the tables have one writer."""
    st.waiting.append(_Waiting(cell.astype(_small(math.prod(radix))), radix, _score_keys(score)))
    st.waiting_rows += len(score)
    if st.waiting_rows >= FLUSH_ROWS:
        _sort_waiting(st)


def _sort_waiting(st: _Pass) -> None:
    if not st.waiting:
        return
    waiting, st.waiting, st.waiting_rows = st.waiting, [], 0
    _merged(st)
    st.merging = background(_sort_in, st.scores, waiting)


def _merged(st: _Pass) -> None:
    """Wait for the tables' merge under way, if any."""
    if st.merging is not None:
        st.merging.result()
        st.merging = None


def _batch_predictions(
    plan: _Plan, st: _Pass, batch: pa.RecordBatch, offset: int
) -> tuple[NDArray[np.float64] | None, NDArray[np.int64]]:
    """This batch's scores (or None) and predictions: 0/1 when cut by a threshold, else
    the predicted label's id."""
    source = plan.source
    if source.kind == "model":
        assert plan.loaded is not None
        frame = batch.select(plan.loaded.feature_names).to_pandas()
        try:
            raw, scores = plan.loaded.predict_with_scores(frame)
        except (ValueError, TypeError, KeyError) as exc:
            raise DataError(
                f"{plan.loaded.uri} could not predict on {plan.path.name}: "
                f"{str(exc).splitlines()[0]}",
                hint="Check that the input columns have the types of the model's signature.",
            ) from exc
        if scores is not None:
            scores = np.asarray(scores, dtype=np.float64)
            st.missing_scores += int(np.isnan(scores).sum())
        if st.cut and scores is not None:
            assert source.threshold is not None
            return scores, (scores >= source.threshold).astype(np.int64)
        st.cut = False
        import pyarrow as pa

        return scores, st.preds.codes(pa.array(np.asarray(raw)), offset)
    assert source.column is not None
    col = batch.column(source.column)
    if source.kind == "column":
        return None, st.preds.codes(col, offset)
    scores = _numbers(col, st, offset)
    assert source.threshold is not None
    return scores, (scores >= source.threshold).astype(np.int64)


def _numbers(col: pa.Array, st: _Pass, offset: int) -> NDArray[np.float64]:
    """A score column as floats; non-numbers and missing values noted for the checks
    after the pass (NaN here)."""
    import pyarrow as pa

    if pa.types.is_integer(col.type) or pa.types.is_floating(col.type):
        s: NDArray[np.float64] = np.asarray(col.to_numpy(zero_copy_only=False), np.float64)
    else:
        raw = col.to_pandas()
        num = pd.to_numeric(raw, errors="coerce")
        bad = num.isna() & raw.notna()
        if bad.any() and st.bad_score is None:
            row = int(np.flatnonzero(bad.to_numpy())[0])
            st.bad_score = (str(raw.iloc[row]), offset + row)
        s = np.asarray(num.to_numpy(dtype=float), dtype=np.float64)
    st.missing_scores += int(np.isnan(s).sum())
    return s


def _plan_of(
    source: PredictionSource,
    *,
    data: str | Path,
    loaded: LoadedModel | None,
    target: str | None,
    sensitive: Sequence[str] | None,
    options: CardOptions,
    batch_rows: int,
) -> _Plan:
    """The pass's plan, after the in-memory path's checks of the file's header: the
    target, sensitive, reference and input columns (a card's and a comparison's).

    Args:
        source: Where the predictions come from.
        data: A CSV or Parquet file.
        loaded: The registered model, for a model source.
        target: The target column (default: the model's).
        sensitive: The sensitive columns (default: the model's).
        options: Reference groups, checked against the sensitive columns.
        batch_rows: Rows per record batch.
    """
    target = target or (loaded.target if loaded else None)
    if not target:
        raise DataError("Name the target column with --target COLUMN.")
    cols = list(sensitive or (loaded.sensitive_features if loaded else []))
    if not cols:
        raise DataError("Name at least one sensitive column with --sensitive COL[,COL...].")
    path = Path(data)
    is_parquet = check_data_file(path)
    names = _column_names(path, is_parquet)
    header = pd.DataFrame(columns=names)
    where = path.name
    require_columns(header, [target], where=where, role="target")
    require_columns(header, cols, where=where, role="sensitive")
    for col in options.reference_groups or {}:
        if col not in cols:
            raise DataError(
                f"--reference names {col!r}, which is not a sensitive column.",
                hint="Sensitive columns: " + ", ".join(cols) + ".",
            )
    if target in cols:
        raise DataError(f"{target!r} is both the target and a sensitive column.")
    if loaded is not None:
        require_columns(header, loaded.feature_names, where=where, role="model input")
    elif source.column is not None:
        role = "predictions" if source.kind == "column" else "scores"
        require_columns(header, [source.column], where=where, role=role)
    return _Plan(path, is_parquet, names, target, cols, source, loaded, batch_rows)


class _Target(NamedTuple):
    """The target after the pass, checked as the in-memory path checks it."""

    column: _Column
    values: list[Any]  # its two values
    positive: Any
    label_of: NDArray[np.bool_]  # per final value: is it the positive one


def _checked_target(plan: _Plan, st: _Pass, options: CardOptions) -> _Target:
    """The in-memory path's checks of the target, on its distinct values: a regression
    or multiclass target, missing values, the positive label, the model's classes."""
    from ._pipeline import (
        _positive_label,
        check_model_classes,
        check_target_values,
        positive_label_on_multiclass,
    )

    loaded, target = plan.loaded, plan.target
    tcol = _final(st.target, csv_text=not plan.is_parquet)
    if loaded is None:
        vals = tcol.values.dropna()
        numeric = pd.api.types.is_numeric_dtype(tcol.values) and not pd.api.types.is_bool_dtype(
            tcol.values
        )
        if numeric and len(vals) > 2:
            raise NotBinaryError(
                f"The target {target!r} holds numbers: a regression card, which the batched "
                "engine does not make.",
                hint="Use --engine memory.",
            )
    missing = tcol.values.isna().to_numpy()
    n_missing = int(tcol.counts[missing].sum())
    first_missing = int(tcol.first[missing].min()) if n_missing else None
    n_labels = int(tcol.values.dropna().nunique())
    numeric_target = pd.api.types.is_numeric_dtype(tcol.values) and not pd.api.types.is_bool_dtype(
        tcol.values
    )
    multiclass = (
        loaded.task == "multiclass_classification"
        if loaded is not None
        else n_labels > 2 and not numeric_target
    )
    if multiclass and not n_missing:  # as the in-memory path decides, with its messages
        if options.positive_label is not None:
            raise positive_label_on_multiclass(target, n_labels)
        raise NotBinaryError(
            f"The target {target!r} holds {n_labels} classes: a multiclass card, which the "
            "batched engine does not make.",
            hint="Use --engine memory.",
        )
    values = check_target_values(list(tcol.values), n_missing, first_missing, target)
    model_positive = loaded.positive_label if loaded else None
    pos = _positive_label(values, options.positive_label, model_positive, target)
    if loaded is not None:
        check_model_classes(loaded, values, target)
    label_of = np.array([v == pos for v in tcol.values], dtype=bool)

    return _Target(tcol, values, pos, label_of)


# -- after the pass: the in-memory path's checks, then the aggregates -----------------
class BatchedParts(NamedTuple):
    """What a card needs from the batched engine.

    Attributes:
        assessment: The numbers.
        data: What the card says of the data.
        predictions: Where the predictions came from (no per-row labels).
    """

    assessment: Assessment
    data: DataFacts
    predictions: Predictions


def batched_card(
    source: PredictionSource,
    *,
    data: str | Path,
    loaded: LoadedModel | None,
    target: str | None,
    sensitive: Sequence[str] | None,
    options: CardOptions,
    batch_rows: int = BATCH_ROWS,
    progress: Callable[[str], None] = lambda msg: None,
) -> BatchedParts:
    """The assessment of a file read in batches, what the card says of the data and of
    the predictions (``generate_card`` calls it for ``engine="batched"``).

    Args:
        source: Where the predictions come from.
        data: A CSV or Parquet file.
        loaded: The registered model, for a model source.
        target: The target column (default: the model's).
        sensitive: The sensitive columns (default: the model's).
        options: Confidence, minimum group size, positive label, references.
        batch_rows: Rows per record batch.
        progress: Called with a short message as the pass goes.
    """
    from ._pipeline import DataFacts, Predictions

    if loaded is not None and loaded.task == "regression":
        raise NotBinaryError(
            f"{loaded.uri} is a regression model; the batched engine makes cards for "
            "binary classifiers.",
            hint="Use --engine memory.",
        )
    plan = _plan_of(
        source,
        data=data,
        loaded=loaded,
        target=target,
        sensitive=sensitive,
        options=options,
        batch_rows=batch_rows,
    )
    path, target, names = plan.path, plan.target, plan.columns
    digest = background(sha256_file, path)
    # The intervals need scipy.stats (over half a second to import): imported meanwhile.
    background(importlib.import_module, "scipy.stats")
    progress(f"reading {path.name} in batches of {batch_rows:,} rows")
    st = _run_pass(plan)
    if st.rows == 0:
        raise DataError(f"{path.name} has no rows.", hint="Give a file with a header and rows.")

    text = not plan.is_parquet
    tcol, values, pos, label_of = _checked_target(plan, st, options)
    pred_of = _predicted_positive(plan, st, values, pos, text)
    if st.missing_scores:
        raise DataError(
            f"The scores column {source.column!r} has {st.missing_scores} missing value(s)."
            if source.kind == "scores"
            else f"The scores have {st.missing_scores} missing values.",
            hint="Every row needs a score.",
        )
    agg = _aggregates(st, plan, tcol, label_of, pred_of, text)
    assessment = assess_aggregates(
        agg,
        confidence=options.confidence,
        min_group_size=options.min_group_size,
        intersection=options.intersection,
        reference_groups=options.reference_groups,
        progress=progress,
    )
    facts = DataFacts(
        source=path.name,
        sha256=digest.result(),
        rows=st.rows,
        columns=names,
        target=target,
        positive=pos,
    )
    if source.kind == "model":
        assert loaded is not None
        t = source.threshold
        described = loaded.uri + (f" at threshold {t:g}" if t is not None else "")
    elif source.kind == "column":
        described = f"column {source.column!r}"
    else:
        assert source.threshold is not None
        described = f"column {source.column!r} at threshold {source.threshold:g}"
    preds = Predictions(np.zeros(0), None, described, source.threshold)
    return BatchedParts(assessment, facts, preds)


def _predicted_positive(
    plan: _Plan, st: _Pass, values: list[Any], pos: Any, text: bool
) -> NDArray[np.bool_]:
    """Each prediction code's truth (code 1 is positive when cut by a threshold)."""
    source = plan.source
    if st.cut:
        if st.bad_score is not None:
            value, row = st.bad_score
            raise DataError(
                f"The scores column {source.column!r} holds non-numbers, e.g. "
                f"{value!r} at data row {row + 1}.",
                hint="Scores must be numbers.",
            )
        return np.array([False, True])
    pcol = _final(st.preds, csv_text=text and source.kind == "column")
    if source.kind == "column":
        missing = pcol.values.isna().to_numpy()
        if missing.any():
            raise DataError(
                f"The predictions column {source.column!r} has "
                f"{int(pcol.counts[missing].sum())} missing value(s).",
                hint="Every row needs a prediction.",
            )
    from ._pipeline import relabel

    by_text = {str(v) for v in values}
    if source.kind == "column":
        relabel(np.asarray(list(pcol.values), dtype=object), values)  # its messages
    predicted = np.array([str(v) == str(pos) and str(v) in by_text for v in pcol.values])
    return predicted[pcol.remap] if len(predicted) else np.zeros(0, dtype=bool)


def _aggregates(
    st: _Pass,
    plan: _Plan,
    tcol: _Column,
    label_of: NDArray[np.bool_],
    pred_of: NDArray[np.bool_],
    text: bool,
) -> Aggregates:
    """The pass's tables in the contract's form, values as pandas holds them."""
    groups = [_Groups.of(_final(v, csv_text=text)) for v in st.sens]
    k = len(plan.sensitive)
    keys = np.array(list(st.counts), dtype=np.int64).reshape(len(st.counts), k + 2)
    cols: dict[str, Any] = {
        name: groups[j].column(keys[:, j]) for j, name in enumerate(plan.sensitive)
    }
    cols["label"] = label_of[tcol.remap[keys[:, k]]]
    cols["pred"] = pred_of[keys[:, k + 1]]
    cols["n"] = np.array(list(st.counts.values()), dtype=np.int64)
    # Cells whose raw values pandas reads as one value ("1" and "01") add up.
    counts = (
        pd.DataFrame(cols)
        .groupby([*plan.sensitive, "label", "pred"], dropna=False, observed=True)["n"]
        .sum()
        .reset_index()
    )
    cells: dict[tuple[Any, ...], list[ScoreCell]] | None = None
    if st.has_scores:
        cells = {}
        for key, table in st.scores.items():
            scores, n = table.total()
            values = tuple(groups[j].value(key[j]) for j in range(k))
            none = np.zeros(len(n), dtype=np.int64)
            positive = bool(label_of[tcol.remap[key[k]]])
            cell = ScoreCell(scores, n if positive else none, none if positive else n)
            cells.setdefault(values, []).append(cell)
        st.scores.clear()  # the tables' memory goes as the cells take it over
    return Aggregates(
        list(plan.sensitive),
        counts,
        score_cells=None if cells is None else {v: merge_cells(c) for v, c in cells.items()},
    )


@dataclass
class _Groups:
    """A sensitive column's values as a categorical (cheap for millions of score rows),
    its categories in the order pandas sorts the values."""

    dtype: pd.CategoricalDtype
    code_of: NDArray[np.int64]  # raw id -> category code (-1: missing)

    @classmethod
    def of(cls, col: _Column) -> _Groups:
        present = ~col.values.isna().to_numpy()
        cats = pd.Index(col.values[present]).sort_values()
        final_code = np.full(len(col.values), -1, dtype=np.int64)
        final_code[present] = cats.get_indexer(col.values[present])
        return cls(pd.CategoricalDtype(cats), final_code[col.remap])

    def column(self, raw_ids: NDArray[np.int64]) -> pd.Categorical:
        return pd.Categorical.from_codes(self.code_of[raw_ids], dtype=self.dtype)

    def value(self, raw_id: int) -> Any:
        code = int(self.code_of[raw_id])
        return None if code < 0 else self.dtype.categories[code]


# -- a comparison: both versions predict batch by batch ----------------------------------
class PairedCounts(NamedTuple):
    """The paired count table of two versions on the same rows, and how to name them.

    Attributes:
        features: The sensitive columns, in order.
        counts: One column per sensitive feature (the values as the rows hold them,
            missing as null), then ``label``, ``pred_a``, ``pred_b`` (bools: the target
            is positive, A and B predict positive) and ``n``: one row per combination.
        source: How the comparison names the data.
    """

    features: list[str]
    counts: pd.DataFrame
    source: str


def batched_paired_counts(
    source_b: PredictionSource,
    *,
    data: str | Path,
    loaded_a: LoadedModel,
    loaded_b: LoadedModel,
    target: str | None,
    sensitive: Sequence[str] | None,
    options: CardOptions,
    batch_rows: int = BATCH_ROWS,
    progress: Callable[[str], None] = lambda msg: None,
) -> PairedCounts:
    """Both versions' predictions on a file read in batches, counted per (groups, label,
    prediction A, prediction B): the table a comparison is computed from. Memory stays
    flat: each batch is predicted by both versions, counted and dropped.

    The file is read, checked and predicted on as ``batched_card`` does (the same
    messages); A predicts its own labels, B as ``source_b`` says (a card's threshold).

    Args:
        source_b: How B predicts (a model source; its threshold, if any, cuts B's scores).
        data: A CSV or Parquet file.
        loaded_a: Version A (the version in use), already checked comparable with B.
        loaded_b: Version B (the candidate); its target and sensitive columns are the
            defaults.
        target: The target column (default: B's).
        sensitive: The sensitive columns (default: B's).
        options: The positive label and reference groups.
        batch_rows: Rows per record batch.
        progress: Called with a short message as the pass starts.
    """
    import dataclasses

    plan_b = _plan_of(
        source_b,
        data=data,
        loaded=loaded_b,
        target=target,
        sensitive=sensitive,
        options=options,
        batch_rows=batch_rows,
    )
    source_a = dataclasses.replace(source_b, model=loaded_a, threshold=None)
    plan_a = dataclasses.replace(plan_b, source=source_a, loaded=loaded_a)
    # The same inputs by name (check_comparable); in A's order when A predicts.
    require_columns(
        pd.DataFrame(columns=plan_b.columns),
        loaded_a.feature_names,
        where=plan_b.path.name,
        role="model input",
    )
    progress(f"reading {plan_b.path.name} in batches of {batch_rows:,} rows, predicting twice")
    st, st_a, st_b = _run_paired_pass(plan_a, plan_b)
    if st.rows == 0:
        raise DataError(
            f"{plan_b.path.name} has no rows.", hint="Give a file with a header and rows."
        )
    text = not plan_b.is_parquet
    tcol, values, pos, label_of = _checked_target(plan_b, st, options)
    from ._pipeline import check_model_classes

    check_model_classes(loaded_a, values, plan_b.target)
    pred_a = _predicted_positive(plan_a, st_a, values, pos, text)
    pred_b = _predicted_positive(plan_b, st_b, values, pos, text)
    k = len(plan_b.sensitive)
    keys = np.array(list(st.counts), dtype=np.int64).reshape(len(st.counts), k + 3)
    groups = [_Groups.of(_final(v, csv_text=text)) for v in st.sens]
    cols: dict[str, Any] = {
        name: groups[j].column(keys[:, j]) for j, name in enumerate(plan_b.sensitive)
    }
    cols["label"] = label_of[tcol.remap[keys[:, k]]]
    cols["pred_a"] = pred_a[keys[:, k + 1]]
    cols["pred_b"] = pred_b[keys[:, k + 2]]
    cols["n"] = np.array(list(st.counts.values()), dtype=np.int64)
    # Cells whose raw values pandas reads as one value ("1" and "01") add up.
    counts = (
        pd.DataFrame(cols)
        .groupby([*plan_b.sensitive, "label", "pred_a", "pred_b"], dropna=False, observed=True)["n"]
        .sum()
        .reset_index()
    )
    return PairedCounts(list(plan_b.sensitive), counts, plan_b.path.name)


def _run_paired_pass(plan_a: _Plan, plan_b: _Plan) -> tuple[_Pass, _Pass, _Pass]:
    """One pass, both versions predicting each batch: the groups, target and paired
    counts (keyed by sensitive ids, target id, A's and B's prediction codes) in the
    first state, each version's predicted values in its own."""
    st = _Pass(sens=[_Values(counting=False) for _ in plan_b.sensitive])
    st_a, st_b = _Pass(), _Pass()
    for s, plan in ((st_a, plan_a), (st_b, plan_b)):
        s.cut = plan.source.threshold is not None  # else the model's own labels
    for batch in background_iter(_batches(plan_b)):
        n = batch.num_rows
        if not n:
            continue
        offset = st.rows
        sens = [
            v.codes(batch.column(c), offset) for v, c in zip(st.sens, plan_b.sensitive, strict=True)
        ]
        tcode = st.target.codes(batch.column(plan_b.target), offset)
        _, pred_a = _batch_predictions(plan_a, st_a, batch, offset)
        _, pred_b = _batch_predictions(plan_b, st_b, batch, offset)
        radix = [len(v.raw) for v in st.sens] + [len(st.target.raw)]
        radix += [2 if s.cut else max(len(s.preds.raw), 1) for s in (st_a, st_b)]
        _tally(st.counts, [*sens, tcode, pred_a, pred_b], radix)
        st.rows += n
    return st, st_a, st_b


def _tally(
    counts: dict[tuple[int, ...], int], codes: list[NDArray[np.int64]], radix: list[int]
) -> None:
    """Add the rows' combinations of codes (each below its radix) to ``counts``."""
    uniq, n = _unique_counts(_mixed(codes, radix), math.prod(radix))
    parts = np.unravel_index(uniq, radix)
    for j, cnt in enumerate(n.tolist()):
        t = tuple(int(p[j]) for p in parts)
        counts[t] = counts.get(t, 0) + cnt
