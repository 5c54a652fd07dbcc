"""Training-data profile: what each input column looked like when the model was trained.

The demo builds its input form from it (bounds, defaults, levels) and warns when an
input falls outside it; the card summarises it under "Training data".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypedDict

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

#: Above this many distinct values, a categorical column keeps its most frequent levels only.
MAX_LEVELS = 100


class ColumnProfile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    kind: Literal["numeric", "categorical", "boolean"]
    dtype: str
    missing_share: float
    min: float | None = None
    max: float | None = None
    q25: float | None = None
    median: float | None = None
    q75: float | None = None
    mean: float | None = None
    integer: bool = False
    levels: dict[str, int] | None = None
    other_levels: int = 0

    def default(self) -> float | str | None:
        """A sensible starting value for a form: the median, or the most frequent level."""
        if self.kind == "numeric":
            if self.integer and self.median is not None:
                return int(round(self.median))
            return self.median
        if self.levels:
            return next(iter(self.levels))
        return None


class Profile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rows: int
    columns: list[ColumnProfile]

    def column(self, name: str) -> ColumnProfile:
        """One column's profile; KeyError naming the known columns when it is not profiled.

        Args:
            name: The column.
        """
        for col in self.columns:
            if col.name == name:
                return col
        known = ", ".join(c.name for c in self.columns)
        raise KeyError(f"column {name!r} is not in the profile (columns: {known})")

    def out_of_range(self, row: Mapping[str, Any]) -> list[str]:
        """Plain-language warnings for values outside the training range or levels.

        Args:
            row: Input values by column name; columns the profile lacks are ignored.
        """
        warnings: list[str] = []
        for col in self.columns:
            if col.name not in row or row[col.name] is None:
                continue
            value = row[col.name]
            if col.kind == "numeric" and col.min is not None and col.max is not None:
                if float(value) < col.min or float(value) > col.max:
                    warnings.append(
                        f"{col.name} = {value} lies outside the training range "
                        f"[{_fmt(col.min)}, {_fmt(col.max)}]."
                    )
            elif col.levels is not None and str(value) not in col.levels:
                warnings.append(f"{col.name} = {value!r} was never seen in training.")
        return warnings


class _NumericStats(TypedDict, total=False):
    """The summary fields of a numeric ``ColumnProfile`` (none when no value is present)."""

    min: float
    max: float
    q25: float
    median: float
    q75: float
    mean: float


def _fmt(x: float) -> str:
    return f"{x:g}"


def profile_frame(df: pd.DataFrame) -> Profile:
    """Profile every column of a frame.

    Args:
        df: The training inputs.

    >>> import pandas as pd
    >>> p = profile_frame(pd.DataFrame({"age": [20, 30, 40], "sex": ["F", "M", "F"]}))
    >>> p.column("age").median, p.column("sex").levels
    (30.0, {'F': 2, 'M': 1})
    """
    columns: list[ColumnProfile] = []
    n = len(df)
    for name in df.columns:
        s = df[name]
        missing = float(s.isna().mean()) if n else 0.0
        dtype = str(s.dtype)
        if pd.api.types.is_bool_dtype(s):
            counts = s.dropna().astype(str).value_counts()
            columns.append(
                ColumnProfile(
                    name=str(name),
                    kind="boolean",
                    dtype=dtype,
                    missing_share=missing,
                    levels={str(k): int(v) for k, v in counts.items()},
                )
            )
        elif pd.api.types.is_numeric_dtype(s):
            v = s.dropna().to_numpy(dtype=float)
            stats: _NumericStats = {}
            if len(v):
                q25, med, q75 = np.quantile(v, [0.25, 0.5, 0.75])
                stats = {
                    "min": float(v.min()),
                    "max": float(v.max()),
                    "q25": float(q25),
                    "median": float(med),
                    "q75": float(q75),
                    "mean": float(v.mean()),
                }
            columns.append(
                ColumnProfile(
                    name=str(name),
                    kind="numeric",
                    dtype=dtype,
                    missing_share=missing,
                    integer=pd.api.types.is_integer_dtype(s),
                    **stats,
                )
            )
        else:
            counts = s.dropna().astype(str).value_counts()
            # Ties broken by level name, so the profile is the same on every run.
            counts = counts.sort_index(kind="stable").sort_values(ascending=False, kind="stable")
            kept = counts.iloc[:MAX_LEVELS]
            columns.append(
                ColumnProfile(
                    name=str(name),
                    kind="categorical",
                    dtype=dtype,
                    missing_share=missing,
                    levels={str(k): int(v) for k, v in kept.items()},
                    other_levels=int(len(counts) - len(kept)),
                )
            )
    return Profile(rows=n, columns=columns)
