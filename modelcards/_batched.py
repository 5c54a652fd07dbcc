"""The batched engine: a card from a CSV or Parquet file read in Arrow record batches.

Memory stays nearly flat as rows grow: each batch (``BATCH_ROWS`` rows of only the
columns the card needs) is reduced to the additive tables of ``_aggregate`` and dropped.
What grows is the tables: the count table has a row per (group, label, prediction), the
score table one per (group, label, distinct score), so a model whose scores take a million
distinct values keeps up to a million entries per group and label (16 bytes each).

Scores are counted one of two ways, both giving the same tables to the bit:

* On a grid (the usual case): when every score s of a batch equals
  ``rint(s * 10**k) / 10**k`` for some k up to ``GRID_DECIMALS`` (probabilities stored
  with six decimals, whole-number scores), each row becomes a flat index (cell, grid
  point) into one dense table, and the rows are counted by a bincount on a second core,
  ``FLUSH_ROWS`` at a time: no sort. The scores come back as ``i / 10**k``, the very
  floats the rows had (the check guarantees it), -0.0 and 0.0 share index 0 as they share
  a key below, and NaN is never on a grid. With a threshold the count table comes from the
  same counts (a score is predicted positive at ``>= threshold``, compared as its own
  float). The table grows to a finer grid, a wider range or new groups as batches need;
  it is used while it holds at most ``GRID_MAX_POINTS`` entries and
  ``GRID_POINTS_PER_ROW`` per row of the file.
* By sorting, for a batch off the grid and every batch after it: the scores become
  order-preserving integer keys, wait (``FLUSH_ROWS`` rows, 9 bytes each) and are sorted
  into per-cell tables on a second core. A file that leaves the grid part way is counted
  both ways and the tables merged.

Cells (sensitive values and target) come from Arrow's dictionary indices and small
integer columns by arithmetic and one lookup, without hashing; the arrays of a batch are
reused (new ones cost page faults). What the card needs afterwards (scipy.special, the
review section, the templates) is imported while the ROC AUC is computed, not during the
pass (an import holds the GIL in long stretches: the pass took twice as long beside
one).

Why Arrow record batches and not an embedded SQL engine: the reader is already a
dependency (pandas reads Parquet through it), a record batch hands numpy its columns
without copies, and the per-batch work (dictionary codes and bincounts; a sort of the
scores off a grid) is what the in-memory path does, so both give the same numbers by
construction. (An embedded engine was not measured against it; what is left of the
pass is reading the columns, one count per row and the file's SHA-256.)

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
from ._data import check_data_file, not_utf8, require_columns
from ._digest import sha256_future
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
#: An integer column spanning fewer values than this is coded by a lookup table.
_SMALL_RANGE = 1 << 16


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
        return self.coded(arr, offset).codes()

    def coded(self, arr: pa.Array | pa.ChunkedArray, offset: int) -> _Coded:
        """Each row's index into a small table of value ids (see ``_Coded``); counts and
        first rows updated (``offset``: the batch's first row in the file)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        small = self._small_ints(arr, offset)
        if small is not None:
            return small
        enc = arr if isinstance(arr, pa.DictionaryArray) else pc.dictionary_encode(arr)
        dictionary: list[Any] = enc.dictionary.to_pylist()
        indices = enc.indices
        if enc.null_count:
            indices = pc.fill_null(indices, len(dictionary))
            dictionary.append(None)
        known = len(self.raw)
        ids = np.array([self._id(v) for v in dictionary], dtype=np.int64)
        return self._noted(_Coded(_to_numpy(indices), ids), known, offset, None)

    def _small_ints(self, arr: pa.Array, offset: int) -> _Coded | None:
        """An integer column without missing values over a small range (a 0/1 target,
        numbered groups): its values less the smallest index a lookup table, with no hash
        table; None for any other column."""
        import pyarrow as pa
        import pyarrow.compute as pc

        if not pa.types.is_integer(arr.type) or arr.null_count or not len(arr):
            return None
        bounds = pc.min_max(arr)
        low, high = int(bounds["min"].as_py()), int(bounds["max"].as_py())
        if high - low >= _SMALL_RANGE or not -(2**62) < low <= high < 2**62:
            return None
        x = _to_numpy(arr)
        if low != 0 or x.dtype != np.int64:
            x = x.astype(np.int64)
            x -= low
        if high - low <= 1:  # a 0/1 column: counted without a bincount
            ones = int(np.count_nonzero(x))
            per = np.array([len(x) - ones, ones][: high - low + 1], dtype=np.int64)
        else:
            per = np.bincount(x, minlength=high - low + 1)
        present = np.flatnonzero(per)
        known = len(self.raw)
        ids = np.zeros(high - low + 1, dtype=np.int64)
        ids[present] = [self._id(low + v) for v in present.tolist()]
        return self._noted(_Coded(x, ids), known, offset, per)

    def _noted(
        self, coded: _Coded, known: int, offset: int, per: NDArray[np.int64] | None
    ) -> _Coded:
        """``coded``, with the first rows of values new in this batch (ids from ``known``
        on) and the rows per value (``per``: rows per index, when already counted)."""
        if len(self.raw) > known:
            codes = coded.codes()
            first = np.full(len(self.raw), -1, dtype=np.int64)
            rows = np.arange(len(codes), dtype=np.int64)
            first[codes[::-1]] = rows[::-1]
            self.first += [int(first[i]) + offset for i in range(known, len(self.raw))]
            self.counts = np.append(self.counts, np.zeros(len(self.raw) - known, np.int64))
        if self.counting:
            if per is None:
                per = np.bincount(coded.rows, minlength=len(coded.ids))
            np.add.at(self.counts, coded.ids, per)  # ids may repeat (NaN and null: one)
        return coded

    def _id(self, value: Any) -> int:
        if isinstance(value, float) and math.isnan(value):
            value = None  # NaN is missing, as in pandas (and equal to itself here)
        got = self.ids.get(value)
        if got is None:
            got = self.ids[value] = len(self.raw)
            self.raw.append(value)
        return got


class _Coded(NamedTuple):
    """A batch's column as each row's index into a small table of value ids (Arrow's
    dictionary indices, or an integer column's values less the smallest), so that the
    columns of a cell combine by one lookup (``_cells``) instead of one per column."""

    rows: NDArray[np.integer[Any]]  # each row's index; Arrow's own memory where it can be
    ids: NDArray[np.int64]  # index -> value id

    def codes(self) -> NDArray[np.int64]:
        """Each row's value id."""
        if np.array_equal(self.ids, np.arange(len(self.ids))):
            return np.asarray(self.rows, dtype=np.int64)  # ids in the table's order
        return self.ids[self.rows] if len(self.ids) else np.zeros(0, dtype=np.int64)


def _to_numpy(arr: pa.Array) -> NDArray[Any]:
    """An Arrow array's values, without a copy when it has no nulls (``to_numpy`` with
    copies allowed takes a slower path even then: 12 ms for a million dictionary indices)."""
    import pyarrow as pa

    if not arr.null_count:
        try:
            return np.asarray(arr.to_numpy(zero_copy_only=True))
        except pa.ArrowInvalid:
            pass
    return np.asarray(arr.to_numpy(zero_copy_only=False))


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


# -- scores on a decimal grid, counted without a sort ---------------------------------
#: The finest grid tried: scores with up to six decimals (probabilities stored rounded, as
#: the synthetic data's ``np.round(p, 6)``) or whole numbers (credit scores 300-850).
GRID_DECIMALS = 6
#: Entries a grid table may hold (cells times grid points, 8 bytes each: 256 MB); scores
#: that would need more are sorted into the score tables instead.
GRID_MAX_POINTS = 2**25
#: ... and at most this many per row of the file (at least ``2**20``): a table much larger
#: than the rows costs more to scan than their sort (a million rows on a six-decimal grid
#: of 20 cells sort faster).
GRID_POINTS_PER_ROW = 4
# Grid indices stay below 2**50 in size: there ``i / 10**k`` is distinct for distinct i
# and ``rint(s * 10**k)`` gives i back from that float.
_GRID_LIMIT = float(2**50)
_GRID_SAMPLE = 64  # scores checked first, so that a batch off the grid costs little
_GRID_WAIT = 1 << 24  # rows a grid's buffer holds at most (``FLUSH_ROWS`` of them, 8 bytes each)


class _OnGrid(NamedTuple):
    """A batch's scores as indices on the grid of ``10**-decimals``."""

    decimals: int
    steps: NDArray[np.float64]  # whole numbers: score == steps / 10**decimals, bit for bit
    low: int
    high: int


def _on_grid(
    score: NDArray[np.float64], *, decimals: int, scratch: _Scratch | None = None
) -> _OnGrid | None:
    """The scores' indices on the coarsest grid, from ``decimals`` decimals to
    ``GRID_DECIMALS``, where every score s equals ``rint(s * 10**k) / 10**k`` bit for bit;
    None if there is none (NaN never is; -0.0 and 0.0 are both index 0).

    Args:
        score: The batch's scores.
        decimals: The coarsest grid to try (the grid the table already has).
        scratch: Arrays to reuse (the indices returned are one of them).
    """
    work = scratch or _Scratch()
    n = len(score)
    head = score[:_GRID_SAMPLE]
    for k in range(decimals, GRID_DECIMALS + 1):
        scale = 10.0**k
        if not np.array_equal(np.rint(head * scale) / scale, head):
            continue
        steps = np.multiply(score, scale, out=work.get("steps", n, np.float64))
        np.rint(steps, out=steps)
        back = np.divide(steps, scale, out=work.get("back", n, np.float64))
        if not np.equal(back, score, out=work.get("same", n, np.bool_)).all():
            continue
        low, high = float(steps.min()), float(steps.max())
        if not -_GRID_LIMIT < low <= high < _GRID_LIMIT:  # also infinities
            return None
        return _OnGrid(k, steps, int(low), int(high))
    return None


class _Scratch:
    """Arrays reused batch after batch: new ones for every batch cost page faults (about
    a sixth of the pass's CPU time at 100 million rows)."""

    def __init__(self) -> None:
        self.arrays: dict[str, NDArray[Any]] = {}

    def get(self, name: str, n: int, dtype: type[np.generic]) -> NDArray[Any]:
        """``n`` elements of the array called ``name`` (its contents are left over).

        Args:
            name: Which array.
            n: How many elements.
            dtype: Their type.
        """
        got = self.arrays.get(name)
        if got is None or len(got) < n or got.dtype != dtype:
            got = self.arrays[name] = np.empty(n, dtype=dtype)
        return got[:n]


class _Layout(NamedTuple):
    """How a grid table is laid out: row ``cell`` (a code of ``radix``), column
    ``index - low``."""

    decimals: int
    low: int
    span: int
    radix: tuple[int, ...]

    @property
    def size(self) -> int:
        return math.prod(self.radix) * self.span


class _Grid:
    """Rows counted per (cell, grid point) for scores on a decimal grid: one bincount per
    ``FLUSH_ROWS`` rows on the second core instead of a sort. The table holds exactly what
    the sorted score tables would (the scores come back as ``index / 10**decimals``, the
    same floats), and, for a threshold, the count table too."""

    def __init__(self, *, max_points: int = GRID_MAX_POINTS) -> None:
        self.on = True  # off once a batch has left the grid: later ones are sorted
        self.max_points = max_points
        self.layout = _Layout(0, 0, 0, ())
        self.table = np.zeros(0, dtype=np.int64)
        # Rows waiting as flat indices into the table, in one of two buffers: the other
        # is being counted meanwhile (no copies, no new memory per batch).
        self.waiting: NDArray[np.int64] | None = None
        self.spare: NDArray[np.int64] | None = None
        self.waiting_rows = 0
        self.counting: Future[None] | None = None
        self.scratch = _Scratch()

    def take(self, cell: _CellIndex, radix: list[int], score: NDArray[np.float64]) -> bool:
        """Count a batch's scores by cell if they lie on a grid whose table fits; else
        False, and the grid takes no later batch.

        Args:
            cell: Each row's cell, a code of ``radix``.
            radix: Values per sensitive column, then target values.
            score: Each row's score.
        """
        if not self.on:
            return False
        got = _on_grid(score, decimals=self.layout.decimals, scratch=self.scratch)
        want = None if got is None else self._wanted(got, radix)
        if got is None or want is None:
            self.on = False
            return False
        if want != self.layout:
            self._relayout(want)
        lay = self.layout
        n = len(score)
        if self.waiting is None or self.waiting_rows + n > len(self.waiting):
            self.flush_rows()
            if self.waiting is None or n > len(self.waiting):
                self.waiting = np.empty(max(n, min(FLUSH_ROWS, _GRID_WAIT)), dtype=np.int64)
        flat = self.waiting[self.waiting_rows : self.waiting_rows + n]
        np.copyto(flat, got.steps, casting="unsafe")  # whole numbers below 2**50: exact
        base = np.arange(math.prod(lay.radix), dtype=np.int64) * lay.span - lay.low
        flat += cell.of(base, out=self.scratch.get("base", n, np.int64))
        self.waiting_rows += n
        if self.waiting_rows >= FLUSH_ROWS:
            self.flush_rows()
        return True

    def _wanted(self, got: _OnGrid, radix: list[int]) -> _Layout | None:
        """The layout holding the table's counts and this batch (None: too large)."""
        lay = self.layout
        grow = 10 ** (got.decimals - lay.decimals)
        if lay.span:
            low = min(lay.low * grow, got.low)
            high = max((lay.low + lay.span - 1) * grow, got.high)
        else:
            low, high = got.low, got.high
        cells = math.prod(radix)
        if lay.span and low >= lay.low * grow and high < (lay.low + lay.span - 1) * grow + 1:
            low, high = lay.low * grow, (lay.low + lay.span - 1) * grow  # fits as it is
        else:
            # Room on each side, so that the next batches rarely move the table (but not
            # below 0 for scores that are not negative, nor above 1 for those up to 1).
            pad = max((high - low) // 16, 1)
            one = 10**got.decimals
            padded_low = low - pad if low < 0 else max(low - pad, 0)
            padded_high = high + pad if high > one else min(high + pad, one)
            if cells * (padded_high - padded_low + 1) <= self.max_points:
                low, high = padded_low, padded_high
        want = _Layout(got.decimals, low, high - low + 1, tuple(radix))
        return want if want.size <= self.max_points else None

    def _relayout(self, want: _Layout) -> None:
        """Move the counts to a larger table: more cells, a wider range, or a finer grid
        (index i becomes i * 10**more)."""
        self.flush()
        old, lay = self.table, self.layout
        table = np.zeros(want.size, dtype=np.int64)
        if lay.span:
            grow = 10 ** (want.decimals - lay.decimals)
            rows = np.ravel_multi_index(
                np.unravel_index(np.arange(math.prod(lay.radix)), lay.radix), want.radix
            )
            cols = (lay.low + np.arange(lay.span)) * grow - want.low
            table.reshape(-1, want.span)[np.ix_(rows, cols)] = old.reshape(-1, lay.span)
        self.table, self.layout = table, want

    def flush_rows(self) -> None:
        """Start counting the rows waiting on the second core (after the count under
        way, whose buffer then takes the next rows)."""
        if not self.waiting_rows or self.waiting is None:
            return
        full, rows = self.waiting, self.waiting_rows
        self._wait()
        self.waiting, self.spare, self.waiting_rows = self.spare, full, 0
        self.counting = background(_count_into, self.table, full[:rows])

    def _wait(self) -> None:
        if self.counting is not None:
            self.counting.result()
            self.counting = None

    def flush(self) -> None:
        """Count every row waiting (the table is complete when this returns)."""
        self.flush_rows()
        self._wait()

    def points(self) -> NDArray[np.float64]:
        """The score at each column: the very floats the rows had."""
        lay = self.layout
        return (lay.low + np.arange(lay.span, dtype=np.int64)).astype(np.float64) / (
            10.0**lay.decimals
        )

    def rows(self) -> Iterator[tuple[tuple[int, ...], NDArray[np.int64]]]:
        """Each cell holding rows: its codes (sensitive values, then target) and its counts
        per grid point."""
        lay = self.layout
        if not lay.span:
            return
        by_cell = self.table.reshape(-1, lay.span)
        for c in np.flatnonzero(by_cell.any(axis=1)).tolist():
            yield tuple(int(x) for x in np.unravel_index(c, lay.radix)), by_cell[c]

    def add_counts(self, counts: dict[tuple[int, ...], int], threshold: float) -> None:
        """The count table of the rows counted here, predictions cut at ``threshold``
        (each score compared as the row's own float, so ties fall as they do row by row).

        Args:
            counts: The pass's count table, keyed by cell codes and the prediction (0/1).
            threshold: Scores at or above it are predicted positive.
        """
        at = int(np.searchsorted(self.points(), threshold, side="left"))
        for key, row in self.rows():
            for pred, n in ((0, int(row[:at].sum())), (1, int(row[at:].sum()))):
                if n:
                    counts[(*key, pred)] = counts.get((*key, pred), 0) + n


def _count_into(table: NDArray[np.int64], flat: NDArray[np.int64]) -> None:
    """Add rows, as flat indices, to the table (numpy counts without the GIL)."""
    table += np.bincount(flat, minlength=len(table))


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
    grid: _Grid = field(default_factory=_Grid)  # scores on a decimal grid, counted densely
    scratch: _Scratch = field(default_factory=_Scratch)  # arrays reused for each batch


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

            # Memory-mapped: Arrow decodes from the page cache with no copy into its own
            # buffers (a third of the CPU time of plain reads here, see the README).
            pf = pq.ParquetFile(plan.path, read_dictionary=plan.sensitive, memory_map=True)
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


def _warm_up() -> None:
    """Import and compile what the card needs after the pass: scipy.special for the
    intervals, the review section's module and the templates the card is written with."""
    importlib.import_module("scipy.special")
    importlib.import_module("modelcards._findings")
    from ._render import warm_up

    warm_up()


def _unreadable(plan: _Plan, exc: BaseException) -> DataError:
    # pyarrow's error for a byte that is not UTF-8 names neither the byte nor its place.
    if not plan.is_parquet and (bad := not_utf8(plan.path.name, plan.path)):
        return bad
    kind = "Parquet" if plan.is_parquet else "CSV"
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return DataError(
        f"Cannot read {plan.path.name} as {kind}: {first}",
        hint="Give a UTF-8 CSV file with a header row, or a Parquet file"
        + ("" if plan.is_parquet else " (or try --engine memory, which reads it whole)")
        + ".",
    )


def _expected_rows(plan: _Plan) -> int:
    """The file's rows: from a Parquet file's footer, estimated for a CSV file from the
    length of its first lines."""
    if plan.is_parquet:
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(plan.path).metadata.num_rows)
    with open(plan.path, "rb") as fh:
        head = fh.read(1 << 20)
    return int(plan.path.stat().st_size / max(len(head) / max(head.count(b"\n"), 1), 1))


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
        if not is_parquet and (bad := not_utf8(path.name, path)):
            raise bad from exc
        kind = "Parquet" if is_parquet else "CSV"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(
            f"Cannot read {path.name} as {kind}: {first}",
            hint="Give a UTF-8 CSV file with a header row, or a Parquet file.",
        ) from exc


def _run_pass(plan: _Plan) -> _Pass:
    st = _Pass(sens=[_Values(counting=False) for _ in plan.sensitive])
    rows = _expected_rows(plan)
    st.grid = _Grid(max_points=min(GRID_MAX_POINTS, max(GRID_POINTS_PER_ROW * rows, 1 << 20)))
    kind = plan.source.kind
    st.cut = kind == "scores" or (kind == "model" and plan.source.threshold is not None)
    for batch in background_iter(_batches(plan)):
        n = batch.num_rows
        if not n:
            continue
        offset = st.rows
        coded = [
            v.coded(batch.column(c), offset) for v, c in zip(st.sens, plan.sensitive, strict=True)
        ]
        coded.append(st.target.coded(batch.column(plan.target), offset))
        radix = [len(v.raw) for v in st.sens] + [len(st.target.raw)]
        cell = _cells(coded, radix, st.scratch)
        if kind == "scores":
            assert plan.source.column is not None
            score = _numbers(batch.column(plan.source.column), st, offset, count_missing=False)
            st.has_scores = True
            # On a grid, the batch is counted by score, its predictions with it.
            if not st.grid.take(cell, radix, score):
                _add_cut(st, plan, cell.cells(), radix, score)
        else:
            scored, pred = _batch_predictions(plan, st, batch, offset)
            cells = cell.cells()
            _add_counts(st, cells, radix, pred)
            if scored is not None:
                st.has_scores = True
                _add_scores(st, cells, radix, scored)
        st.rows += n
    _sort_waiting(st)
    st.grid.flush()
    _merged(st)
    if kind == "scores":
        assert plan.source.threshold is not None
        st.grid.add_counts(st.counts, plan.source.threshold)
    return st


def _add_cut(
    st: _Pass, plan: _Plan, cell: NDArray[np.int64], radix: list[int], score: NDArray[np.float64]
) -> None:
    """A batch of scores off the grid: missing ones noted, predictions cut at the
    threshold, the scores kept for the sort."""
    assert plan.source.threshold is not None
    st.missing_scores += int(np.isnan(score).sum())
    _add_counts(st, cell, radix, (score >= plan.source.threshold).astype(np.int64))
    _add_scores(st, cell, radix, score)


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


class _CellIndex(NamedTuple):
    """Each row's cell (a code of the batch's radix) as an index into a small table of
    cells: ``table[rows]``, or ``rows`` itself without a table."""

    rows: NDArray[np.int64]
    table: NDArray[np.int64] | None

    def cells(self) -> NDArray[np.int64]:
        """Each row's cell."""
        return self.rows if self.table is None else self.table[self.rows]

    def of(self, per_cell: NDArray[np.int64], *, out: NDArray[np.int64]) -> NDArray[np.int64]:
        """``per_cell[cell]`` for each row, with one lookup, into ``out``."""
        lookup = per_cell if self.table is None else per_cell[self.table]
        return np.take(lookup, self.rows, out=out, mode="clip")  # every index is in range


def _cells(coded: list[_Coded], radix: list[int], scratch: _Scratch) -> _CellIndex:
    """Each row's cell, a code of ``radix`` (as ``_mixed`` makes from the value ids): when
    every combination of the columns' indices fits a small table, an index into it, made
    by arithmetic on Arrow's indices (a lookup per column costs more)."""
    sizes = [len(c.ids) for c in coded]
    if math.prod(sizes) > _SMALL_RANGE or math.prod(radix) >= 2**62:
        return _CellIndex(_mixed([c.codes() for c in coded], radix), None)
    table = np.zeros(1, dtype=np.int64)
    for c, r in zip(coded, radix, strict=True):
        table = (table[:, None] * r + c.ids[None, :]).ravel()
    rows = scratch.get("cells", len(coded[0].rows), np.int64)
    np.copyto(rows, coded[0].rows)
    for c, size in zip(coded[1:], sizes[1:], strict=True):
        rows *= size
        rows += c.rows
    return _CellIndex(rows, table)


def _mixed(codes: list[NDArray[np.int64]], radix: list[int]) -> NDArray[np.int64]:
    if math.prod(radix) >= 2**62:
        raise DataError(
            "The sensitive columns have too many distinct values to compare groups.",
            hint="Choose columns that name groups (a few to a few hundred values each).",
        )
    key = codes[0].astype(np.int64)  # a copy: the codes may be Arrow's read-only memory
    for c, k in zip(codes[1:], radix[1:], strict=True):
        key *= k
        key += c
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


def _numbers(
    col: pa.Array, st: _Pass, offset: int, *, count_missing: bool = True
) -> NDArray[np.float64]:
    """A score column as floats; non-numbers and missing values noted for the checks
    after the pass (NaN here; missing ones left to the caller without ``count_missing``)."""
    import pyarrow as pa

    if pa.types.is_integer(col.type) or pa.types.is_floating(col.type):
        s: NDArray[np.float64] = np.asarray(_to_numpy(col), np.float64)
    else:
        raw = col.to_pandas()
        num = pd.to_numeric(raw, errors="coerce")
        bad = num.isna() & raw.notna()
        if bad.any() and st.bad_score is None:
            row = int(np.flatnonzero(bad.to_numpy())[0])
            st.bad_score = (str(raw.iloc[row]), offset + row)
        s = np.asarray(num.to_numpy(dtype=float), dtype=np.float64)
    if count_missing:
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
    digest = sha256_future(path)
    progress(f"reading {path.name} in batches of {batch_rows:,} rows")
    st = _run_pass(plan)
    # What the card needs next, imported while the ROC AUC is computed (numpy, without
    # the GIL). Not during the pass: an import holds the GIL, and the pass's threads wait.
    background(_warm_up)
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
    # Cells only from the grid merge on it, by adding counts, with no sort.
    on_grid = not st.scores and st.grid.layout.span > 0
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
        for values, cell in _grid_cells(st.grid, groups, label_of[tcol.remap], k):
            cells.setdefault(values, []).append(cell)
    decimals = st.grid.layout.decimals if on_grid else None
    return Aggregates(
        list(plan.sensitive),
        counts,
        score_cells=None
        if cells is None
        else {v: merge_cells(c, decimals=decimals) for v, c in cells.items()},
        score_decimals=decimals,
    )


def _grid_cells(
    grid: _Grid, groups: list[_Groups], label_of: NDArray[np.bool_], k: int
) -> Iterator[tuple[tuple[Any, ...], ScoreCell]]:
    """The grid's counts as score cells, one per combination of raw sensitive ids (the
    positives and negatives of every target value added). A cell with rows at a quarter
    of the grid's points or more keeps every point (zeros where no row is), sharing one
    array of scores with the other such cells, so that groups merge by adding counts;
    a sparser cell keeps only the scores its rows have.

    Args:
        grid: The pass's grid.
        groups: Each sensitive column's values.
        label_of: Raw target id -> whether it is the positive label.
        k: How many sensitive columns.
    """
    parts: dict[tuple[int, ...], list[tuple[bool, NDArray[np.int64]]]] = {}
    for key, row in grid.rows():
        parts.setdefault(key[:k], []).append((bool(label_of[key[k]]), row))
    if not parts:
        return
    points = grid.points()
    for sens, rows in parts.items():
        pos = np.zeros(len(points), dtype=np.int64)
        neg = np.zeros(len(points), dtype=np.int64)
        for positive, row in rows:
            into = pos if positive else neg
            into += row
        values = tuple(groups[j].value(sens[j]) for j in range(k))
        at = np.flatnonzero(pos + neg)
        if 4 * len(at) >= len(points):
            yield values, ScoreCell(points, pos, neg)
        else:
            yield values, ScoreCell(points[at], pos[at], neg[at])


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
