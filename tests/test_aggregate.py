"""assess_aggregates: the same assessment from count tables as from the rows, bit for bit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from modelcards._aggregate import Aggregates, aggregates_from_frame, assess_aggregates
from modelcards._evaluate import assess
from modelcards.errors import DataError


def tricky_rows(n: int, *, seed: int = 0, decimals: int = 1) -> pd.DataFrame:
    """Missing sensitive values, groups of 1 to 5 rows, heavy ties in the scores."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "sex": rng.choice(["F", "M", None], n, p=[0.45, 0.45, 0.1]),
            "race": rng.choice(["a", "b", "c"], n, p=[0.6, 0.3, 0.1]),
            "band": rng.integers(1, 12, n),  # numbers: 2 sorts before 10
            "y": rng.integers(0, 2, n),
            "score": np.round(rng.random(n), decimals),
        }
    )
    # Tiny groups: one, two and five rows of their own.
    frame.loc[:0, "race"] = "tiny1"
    frame.loc[1:2, "race"] = "tiny2"
    frame.loc[3:7, "race"] = "tiny5"
    frame["label"] = frame["y"] == 1
    frame["pred"] = frame["score"] >= 0.5
    return frame


def both(frame: pd.DataFrame, features: list[str], **kwargs: object) -> tuple[str, str]:
    rows = assess(
        frame["y"],
        frame["pred"].astype(int),
        sensitive_features=frame[features],
        y_score=frame["score"],
        **kwargs,  # type: ignore[arg-type]
    )
    agg = aggregates_from_frame(frame, features=features, label="label", pred="pred", score="score")
    return rows.model_dump_json(), assess_aggregates(agg, **kwargs).model_dump_json()  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("n", "decimals"),
    [(400, 1), (5000, 3), (70_000, 6)],  # 70,000 rows take the keyed sort of the scores
)
def test_aggregates_give_the_same_assessment_as_rows(n, decimals):
    frame = tricky_rows(n, decimals=decimals)
    rows, agg = both(frame, ["sex", "race"])
    assert agg == rows


def test_aggregates_keep_number_order_and_reference_groups():
    frame = tricky_rows(3000)
    rows, agg = both(frame, ["band", "sex"], reference_groups={"sex": "F"})
    assert agg == rows
    assert '"band":"2"' in agg and agg.index('"band":"2"') < agg.index('"band":"10"')


def test_combined_aggregates_of_two_halves_equal_the_whole():
    frame = tricky_rows(2000)
    args = {"features": ["sex", "race"], "label": "label", "pred": "pred", "score": "score"}
    whole = aggregates_from_frame(frame, **args)
    halves = aggregates_from_frame(frame.iloc[:700], **args).combine(
        aggregates_from_frame(frame.iloc[700:], **args)
    )
    assert assess_aggregates(halves).model_dump_json() == (
        assess_aggregates(whole).model_dump_json()
    )


def test_aggregates_without_scores_have_no_auc():
    frame = tricky_rows(500)
    agg = aggregates_from_frame(frame, features=["sex"], label="label", pred="pred")
    a = assess_aggregates(agg)
    assert "roc_auc_score" not in a.metrics
    rows = assess(frame["y"], frame["pred"].astype(int), sensitive_features=frame[["sex"]])
    assert a.model_dump_json() == rows.model_dump_json()


def test_aggregates_name_missing_scores_and_mismatched_tables():
    frame = tricky_rows(300)
    agg = aggregates_from_frame(frame, features=["sex"], label="label", pred="pred", score="score")
    assert agg.score_counts is not None
    broken = agg.score_counts.copy()
    broken.loc[0, "score"] = np.nan
    with pytest.raises(DataError, match="missing values"):
        assess_aggregates(Aggregates(["sex"], agg.counts, broken))
    with pytest.raises(DataError, match="score table counts"):
        assess_aggregates(Aggregates(["sex"], agg.counts, agg.score_counts.iloc[1:]))
    with pytest.raises(DataError, match="Cannot combine"):
        agg.combine(Aggregates(["race"], agg.counts))


def test_weighted_sums_equal_the_running_sums_exactly():
    from modelcards._aggregate import weighted_sums
    from modelcards._evaluate import exact_sums

    rng = np.random.default_rng(4)
    cases = [(0, 1, 1), (5, 0, 0), (300, 10**6, 100), (10**5, 2 * 10**8, 200)]
    # Many blocks (``_BLOCK`` elements each), with limbs: the blocks' sums add up exactly.
    for n, top, most in [*cases, (10**4, 2**40, 2**20), (200_003, 2 * 10**8, 2**12)]:
        v = rng.integers(0, top + 1, n)
        w = rng.integers(0, most + 1, n)
        (s1,), (s2,) = exact_sums(v, w, np.array([0, n]))
        assert weighted_sums(v, w) == (s1, s2)
        if n <= 300:
            exact = sum(int(a) * int(b) for a, b in zip(v, w, strict=True))
            square = sum(int(a) ** 2 * int(b) for a, b in zip(v, w, strict=True))
            assert weighted_sums(v, w) == (exact, square)
