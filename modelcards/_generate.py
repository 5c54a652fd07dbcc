"""From inputs to a card: validate everything, predict, assess, apply the policy, merge.

Every check on the inputs runs before any file is written, so bad input leaves nothing
behind; ``write_card`` renders all formats in memory and then moves them into place.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from ._background import background
from ._card import CardSpec, DataProvenance, ModelCard, build_card, load_spec, parse_spec
from ._data import read_table, require_columns, sha256_file
from ._evaluate import Assessment, assess_groups, prepare_groups
from ._policy import Policy, PolicyResult, load_policy, no_policy
from .errors import DataError, ModelcardsError, UnsupportedTaskError

FILES = {"html": "model_card.html", "markdown": "model_card.md", "json": "model_card.json"}


@dataclass
class CardResult:
    card: ModelCard
    assessment: Assessment
    policy: PolicyResult

    @property
    def exit_code(self) -> int:
        """0 when every check passed (or there is no policy), 1 otherwise."""
        return 0 if self.policy.verdict in ("pass", "none") else 1


def card_date() -> str:
    """Today (UTC), or the day SOURCE_DATE_EPOCH names, for reproducible builds."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            return dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC).date().isoformat()
        except ValueError:
            raise DataError(
                f"SOURCE_DATE_EPOCH={epoch!r} is not a whole number of seconds.",
                hint="Set it to a Unix timestamp, e.g. $(git log -1 --format=%ct).",
            ) from None
    return dt.datetime.now(dt.UTC).date().isoformat()


def library_versions() -> dict[str, str]:
    """Versions of modelcards, Fairlearn, scikit-learn and MLflow, for provenance."""
    return dict(_versions())


@functools.cache  # installed versions do not change under a running process
def _versions() -> dict[str, str]:
    out = {}
    for label, dists in (
        ("modelcards", ["modelcards"]),
        ("fairlearn", ["fairlearn"]),
        ("scikit-learn", ["scikit-learn"]),
        ("mlflow", ["mlflow", "mlflow-skinny"]),
    ):
        for d in dists:
            try:
                out[label] = metadata.version(d)
                break
            except metadata.PackageNotFoundError:
                continue
        else:
            out[label] = "not installed"
    return out


def _positive_label(values: list, wanted, model_positive, column: str):
    if wanted is not None:
        for v in values:
            if str(v) == str(wanted):
                return v
        raise DataError(
            f"--positive-label {wanted!r} is not a value of the target {column!r}.",
            hint="Its values: " + ", ".join(map(repr, map(str, values[:10]))) + ".",
        )
    if model_positive is not None:
        for v in values:
            if str(v) == str(model_positive):
                return v
        return model_positive
    as_text = {str(v).lower() for v in values}
    if as_text <= {"0", "1"} or as_text <= {"false", "true"} or as_text <= {"-1", "1"}:
        return next((v for v in values if str(v).lower() in {"1", "true"}), 1)
    raise DataError(
        f"Cannot tell which value of the target {column!r} is the positive outcome "
        f"({', '.join(map(repr, map(str, values[:10])))}).",
        hint="Name it with --positive-label VALUE.",
    )


def _check_target(y: pd.Series, column: str) -> list:
    """The target's distinct values, once checked: no missing value, exactly two."""
    missing = y.isna()
    if missing.any():
        raise DataError(
            f"The target column {column!r} has {int(missing.sum())} missing value(s) "
            f"(first at data row {int(np.flatnonzero(missing.to_numpy())[0]) + 1}).",
            hint="Drop or fill those rows first.",
        )
    values = pd.unique(y)
    if len(values) > 2:
        shown = ", ".join(repr(str(v)) for v in values[:6])
        raise UnsupportedTaskError(
            f"The target column {column!r} has {len(values)} distinct values ({shown}"
            f"{', ...' if len(values) > 6 else ''}); modelcards supports binary classification "
            "only.",
            hint="Give a target with exactly two values.",
        )
    if len(values) < 2:
        raise DataError(
            f"The target column {column!r} has a single value ({str(values[0])!r}); error rates "
            "per group need both outcomes.",
            hint="Evaluate on data that holds both outcomes.",
        )
    return list(values)


def generate_card(
    *,
    model=None,
    registry=None,
    data: str | Path | pd.DataFrame | None = None,
    target: str | None = None,
    sensitive: Sequence[str] | None = None,
    predictions: str | None = None,
    scores: str | None = None,
    threshold: float | None = None,
    spec: str | Path | dict | CardSpec | None = None,
    policy: str | Path | Policy | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    min_group_size: int = 30,
    positive_label=None,
    name: str | None = None,
    reference_groups: dict[str, str] | None = None,
    intersection: bool = True,
    allow_pickle: bool = False,
    trusted_types: Sequence[str] = (),
    progress: Callable[[str], None] | None = None,
) -> CardResult:
    """Build a card. Predictions come from ``model`` (a reference or a LoadedModel), from a
    ``predictions`` column, or from a ``scores`` column cut at ``threshold``."""
    say = progress or (lambda msg: None)
    modes = [
        m
        for m, v in (("--model", model), ("--predictions", predictions), ("--scores", scores))
        if v is not None
    ]
    if len(modes) != 1:
        raise DataError(
            "Say where the predictions come from."
            if not modes
            else f"{' and '.join(modes)} cannot be combined.",
            hint="Use one of --model models:/NAME@ALIAS, --predictions COLUMN, or "
            "--scores COLUMN --threshold T.",
        )
    if scores is not None and threshold is None:
        raise DataError(
            "--scores needs --threshold: rows scoring at least T are predicted positive.",
            hint="For example --scores score --threshold 0.5.",
        )
    if predictions is not None and threshold is not None:
        raise DataError(
            "--threshold applies to scores, not to a --predictions column.",
            hint="Drop --threshold, or give --scores COLUMN instead.",
        )
    if threshold is not None and not np.isfinite(threshold):
        raise DataError(f"--threshold must be a finite number, got {threshold}.")

    card_spec = _spec(spec)
    pol = load_policy(policy) if isinstance(policy, str | Path) else policy
    if min_group_size < 1:
        raise DataError(f"--min-group-size must be at least 1, got {min_group_size}.")

    loaded = None
    if model is not None:
        if isinstance(model, str):
            if registry is None:
                from ._registry import Registry

                registry = Registry()
            say(f"loading {model}")
            loaded = registry.load(model, allow_pickle=allow_pickle, trusted_types=trusted_types)
        else:
            loaded = model
        if loaded.task not in ("binary_classification", "unknown") or len(loaded.classes) != 2:
            raise UnsupportedTaskError(
                f"{loaded.uri} is a {loaded.task} model with classes {loaded.classes}; "
                "modelcards supports binary classification only."
            )
        if policy is None and loaded.policy_text:
            from ._policy import parse_policy

            pol = parse_policy(loaded.policy_text, source=f"the policy stored with {loaded.uri}")
        if spec is None and loaded.card_spec is not None:
            card_spec = parse_spec(
                loaded.card_spec, source=f"the card spec stored with {loaded.uri}"
            )

    target = target or (loaded.target if loaded else None)
    if not target:
        raise DataError("Name the target column with --target COLUMN.")
    sensitive = list(sensitive or (loaded.sensitive_features if loaded else []))
    if not sensitive:
        raise DataError("Name at least one sensitive column with --sensitive COL[,COL...].")

    # Data
    if data is None:
        if loaded is None:
            raise DataError(
                "Without --model, --data is required.",
                hint="Give the evaluation data with --data FILE.",
            )
        say(f"reading the evaluation split stored with {loaded.uri}")
        frame = loaded.evaluation_split()
        where, digest = f"the evaluation split of {loaded.uri}", loaded.evaluation_sha256
        source = f"{loaded.uri} (evaluation split)"
    elif isinstance(data, pd.DataFrame):
        frame, where, source = data, "the data", "in-memory data frame"
        digest = _frame_digest(frame)
    else:
        say(f"reading {data}")
        # Sensitive columns that are not model inputs only label groups: read them as
        # categoricals straight from Parquet's dictionaries.
        inputs = set(loaded.feature_names) if loaded else set()
        frame = read_table(data, categorical=[c for c in sensitive if c not in inputs])
        # The reader uses every core; the hash runs on a second one while we predict.
        digest = background(sha256_file, data)
        where, source = Path(data).name, Path(data).name

    require_columns(frame, [target], where=where, role="target")
    require_columns(frame, sensitive, where=where, role="sensitive")
    for col in reference_groups or {}:
        if col not in sensitive:
            raise DataError(
                f"--reference names {col!r}, which is not a sensitive column.",
                hint="Sensitive columns: " + ", ".join(sensitive) + ".",
            )
    if target in sensitive:
        raise DataError(f"{target!r} is both the target and a sensitive column.")
    y_true = frame[target]
    values = _check_target(y_true, target)
    pos = _positive_label(values, positive_label, loaded.positive_label if loaded else None, target)
    neg = next(v for v in values if v != pos)

    # The groups need no predictions: they are checked and encoded on a second core
    # while the model predicts (errors surface, as ever, before anything is written).
    groups = background(
        prepare_groups,
        y_true.to_numpy(),
        sensitive_features=frame[sensitive],
        pos_label=pos,
        intersection=intersection,
    )
    y_score = None
    if loaded is not None:
        require_columns(frame, loaded.feature_names, where=where, role="model input")
        classes = {str(c) for c in loaded.classes}
        if not {str(v) for v in values} <= classes:
            raise DataError(
                f"The target {target!r} holds {sorted(map(str, values))} but "
                f"{loaded.uri} predicts {sorted(classes)}.",
                hint="Use the target column the model was trained on, with the same labels.",
            )
        say(f"predicting {len(frame):,} rows with {loaded.uri}")
        try:
            raw, y_score = loaded.predict_with_scores(frame)
            if threshold is not None and y_score is not None:
                y_pred = np.where(y_score >= threshold, pos, neg)
            else:
                y_pred = _relabel(raw, values, getattr(loaded.model, "classes_", None))
        except (ValueError, TypeError, KeyError) as exc:
            raise DataError(
                f"{loaded.uri} could not predict on {where}: {str(exc).splitlines()[0]}",
                hint="Check that the input columns have the types of the model's signature.",
            ) from exc
        label_pred = f"{loaded.uri}" + (
            f" at threshold {threshold:g}" if threshold is not None else ""
        )
    elif predictions is not None:
        require_columns(frame, [predictions], where=where, role="predictions")
        col = frame[predictions]
        if col.isna().any():
            raise DataError(
                f"The predictions column {predictions!r} has {int(col.isna().sum())} missing "
                "value(s).",
                hint="Every row needs a prediction.",
            )
        y_pred = _relabel(col.to_numpy(), values)
        label_pred = f"column {predictions!r}"
    else:
        require_columns(frame, [scores], where=where, role="scores")
        s = pd.to_numeric(frame[scores], errors="coerce")
        bad = s.isna() & frame[scores].notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"The scores column {scores!r} holds non-numbers, e.g. "
                f"{str(frame[scores].iloc[row])!r} at data row {row + 1}.",
                hint="Scores must be numbers.",
            )
        if s.isna().any():
            raise DataError(
                f"The scores column {scores!r} has {int(s.isna().sum())} missing value(s).",
                hint="Every row needs a score.",
            )
        y_score = s.to_numpy(dtype=float)
        y_pred = np.where(y_score >= threshold, pos, neg)
        label_pred = f"column {scores!r} at threshold {threshold:g}"

    assessment = assess_groups(
        groups.result(),
        y_pred,
        y_score=y_score,
        n_boot=n_boot,
        seed=seed,
        min_group_size=min_group_size,
        reference_groups=reference_groups,
        progress=say,
    )
    policy_result = pol.evaluate(assessment) if pol is not None else no_policy()
    registered = _registered(loaded) if loaded else None
    card = build_card(
        name=name or (loaded.name if loaded else Path(str(source)).stem or "model"),
        assessment=assessment,
        policy=policy_result,
        data=DataProvenance(
            source=source,
            sha256=(digest.result() if isinstance(digest, Future) else digest) or "",
            rows=len(frame),
            columns=[str(c) for c in frame.columns],
            target=target,
            positives=assessment.overall.positives,
            negatives=assessment.overall.negatives,
            positive_share=assessment.overall.positives / len(frame),
        ),
        spec=card_spec,
        positive_label=str(pos),
        predictions=label_pred,
        generated=card_date(),
        versions=library_versions(),
        decision_threshold=threshold,
        registered=registered,
        profile=loaded.profile if loaded else None,
    )
    return CardResult(card=card, assessment=assessment, policy=policy_result)


def _relabel(pred: np.ndarray, target_values: list, labels=None) -> np.ndarray:
    """Match prediction labels to the target's by their text (CSV reads 1 and '1' apart).

    ``labels`` may name every label the predictions can hold (a model's classes), which
    saves scanning them."""
    by_text = {str(v): v for v in target_values}
    pred = np.asarray(pred)
    uniq = pd.unique(pred) if labels is None else np.asarray(labels)
    unknown = sorted(str(u) for u in uniq if str(u) not in by_text)
    if unknown:
        raise UnsupportedTaskError(
            f"The predictions hold {unknown}, which are not values of the target "
            f"({sorted(by_text)}).",
            hint="Predictions must use the target's two labels.",
        )
    mapped = [by_text[str(u)] for u in uniq]
    if all(type(m) is type(u) and m == u for m, u in zip(mapped, uniq, strict=True)):
        return pred
    lookup = np.empty(len(mapped), dtype=object)
    lookup[:] = mapped
    return lookup[pd.Index(uniq).get_indexer(pred)]


def _registered(m) -> dict:
    return {
        "version": m.version,
        "alias": m.alias,
        "reference": m.uri,
        "description": m.model_description,
        "version_description": m.description,
        "created": m.created.date().isoformat(),
        "classes": m.classes,
        "input_features": m.feature_names,
        "framework": _framework(m.model),
        "params": {k: str(v) for k, v in sorted(m.params.items())},
        "metrics": dict(sorted(m.metrics.items())),
        "tags": {k: v for k, v in sorted(m.tags.items()) if not k.startswith("mlflow.")},
    }


def _framework(model) -> str:
    mod = type(model).__module__.split(".")[0]
    try:
        return f"{mod} {metadata.version('scikit-learn' if mod == 'sklearn' else mod)}"
    except metadata.PackageNotFoundError:
        return mod


def _spec(spec) -> CardSpec:
    if spec is None:
        return CardSpec()
    if isinstance(spec, CardSpec):
        return spec
    if isinstance(spec, dict):
        return parse_spec(spec)
    return load_spec(spec)


def _frame_digest(frame: pd.DataFrame) -> str:
    import hashlib

    h = hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return h.hexdigest()


def write_card(result: CardResult | ModelCard, out_dir: str | Path) -> dict[str, Path]:
    """Render every format in memory, then move the files into ``out_dir`` together."""
    from ._render import plotlyjs_bytes, render_html_parts, render_json, render_markdown

    card = result.card if isinstance(result, CardResult) else result
    before, after = render_html_parts(card)
    # plotly.js (4.6 MB) goes to the file as ready-made bytes, never through a template.
    parts = {
        "html": [before.encode(), plotlyjs_bytes(), after.encode()],
        "markdown": [render_markdown(card).encode()],
        "json": [render_json(card).encode()],
    }
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelcardsError(
            f"Cannot create the output folder {out}: {exc.strerror}.",
            hint="Choose another folder with --out.",
        ) from exc
    staged: dict[str, Path] = {}
    try:
        for kind, chunks in parts.items():
            fd, tmp = tempfile.mkstemp(prefix=".model_card-", dir=out)
            staged[kind] = Path(tmp)
            with os.fdopen(fd, "wb") as fh:
                fh.writelines(chunks)
        paths = {}
        for kind, tmp in staged.items():
            final = out / FILES[kind]
            os.replace(tmp, final)
            os.chmod(final, 0o644)
            paths[kind] = final
        return paths
    except OSError as exc:
        raise ModelcardsError(
            f"Cannot write the card into {out}: {exc.strerror}.",
            hint="Check the folder's permissions and free space.",
        ) from exc
    finally:
        for tmp in staged.values():
            if tmp.exists():
                tmp.unlink()
