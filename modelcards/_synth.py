"""Synthetic loan-approval data with a known, injected disparity.

Columns:

* inputs ``age``, ``income``, ``tenure_years``, ``credit_lines``, ``employment``;
* sensitive ``sex`` (2 levels: ``female``, ``male``) and ``group`` (5 levels ``A`` to ``E``,
  with shares 40/25/15/12/8%);
* ``approved``: the true outcome (1 = would repay), drawn from a logistic model of the
  inputs alone, so every group has the same true relation between inputs and outcome;
* ``score``: a vendor's probability of approval. It is the true logit plus noise, except
  that for people in group ``E`` who would repay it is lowered by ``DISPARITY_SHIFT`` in
  logit units. At a 0.5 threshold this gives group E a false-negative rate of about
  0.80 against 0.27 to 0.34 for the other groups. Only positives are shifted, so group
  E's false-positive rate is not raised (it is lower, as its incomes are).

The same seed gives the same rows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DataError

GROUPS = np.array(["A", "B", "C", "D", "E"])
GROUP_SHARES = [0.40, 0.25, 0.15, 0.12, 0.08]
SEXES = np.array(["female", "male"])
EMPLOYMENT = np.array(["salaried", "self-employed", "unemployed"])
DISADVANTAGED_GROUP = "E"
DISPARITY_SHIFT = 1.2
TARGET = "approved"
SENSITIVE = ["sex", "group"]
FEATURES = ["age", "income", "tenure_years", "credit_lines", "employment"]


def synthesize(rows: int, *, seed: int = 0) -> pd.DataFrame:
    """Generate ``rows`` rows of the synthetic data set.

    Args:
        rows: How many rows.
        seed: The random seed (default 0); the same seed gives the same rows.

    >>> df = synthesize(1000, seed=1)
    >>> sorted(df["group"].unique()), bool(df["approved"].isin([0, 1]).all())
    (['A', 'B', 'C', 'D', 'E'], True)
    """
    if rows < 1:
        raise DataError(f"rows must be at least 1, got {rows}.")
    rng = np.random.default_rng(seed)
    group_code = rng.choice(len(GROUPS), size=rows, p=GROUP_SHARES)
    sex_code = rng.integers(0, 2, size=rows)
    age = rng.integers(18, 80, size=rows)
    # Income differs between groups: a realistic proxy, so group-blind models still differ.
    income = np.round(rng.lognormal(10.4 - 0.08 * group_code, 0.5, size=rows), 2)
    tenure = np.round(np.minimum(rng.exponential(6.0, size=rows), age - 17), 1)
    credit_lines = rng.poisson(3.0, size=rows)
    employment_code = rng.choice(3, size=rows, p=[0.7, 0.2, 0.1])

    logit = (
        -0.6
        + 0.9 * (np.log(income) - 10.3)
        + 0.04 * tenure
        + 0.01 * (age - 40)
        - 0.15 * (credit_lines - 3)
        - 1.1 * (employment_code == 2)
        - 0.2 * (employment_code == 1)
        + 0.8
    )
    approved = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    vendor_logit = logit + rng.normal(0, 0.8, size=rows)
    vendor_logit -= DISPARITY_SHIFT * ((group_code == 4) & (approved == 1))
    score = np.round(1 / (1 + np.exp(-vendor_logit)), 6)

    return pd.DataFrame(
        {
            "age": age,
            "income": income,
            "tenure_years": tenure,
            "credit_lines": credit_lines,
            "employment": EMPLOYMENT[employment_code],
            "sex": SEXES[sex_code],
            "group": GROUPS[group_code],
            TARGET: approved,
            "score": score,
        }
    )


def write_frame(df: pd.DataFrame, path: str | Path) -> Path:
    """Write CSV or Parquet by the file's suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in {".csv", ".parquet", ".pq"}:
        raise DataError(
            f"Cannot tell the format of {path.name!r} from its suffix.",
            hint="Name the output file .csv or .parquet.",
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        df.to_csv(path, index=False)
    else:
        df.to_parquet(path, index=False)
    return path
