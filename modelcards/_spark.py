"""The Apache Spark engine: a card's count tables computed as Spark aggregations.

Every confusion-matrix metric needs only the (group, label, prediction) count table, and
exact ROC AUC with DeLong's variance needs only per-group, per-distinct-score counts of
positives and negatives. Both add up over partitions, so one ``groupBy(...).count()``
computes them on the cluster and only those small tables reach the driver, where the
checks of the in-memory path run on them (missing targets, a third target value, unknown
predicted labels) with the same messages.

A registered model predicts on the executors (``mapInPandas``). What travels there is the
model's stored files as bytes, loaded on each executor through the registry's own loader
(skops with its allow-list, XGBoost/LightGBM natively, pickle only with ``allow_pickle``):
the estimator itself is never pickled.

pyspark is an optional extra (``pip install 'modelcards[spark]'``), imported only here.
"""

from __future__ import annotations

import hashlib
import math
import os
import sys
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ._data import require_columns
from .errors import DataError, ModelcardsError, UnsupportedTaskError

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame as SparkFrame
    from pyspark.sql import SparkSession

    from ._batched import BatchedParts, PairedCounts
    from ._pipeline import CardOptions, PredictionSource
    from ._registry import LoadedModel, Registry

INSTALL_HINT = "Install the Spark extra: pip install 'modelcards[spark]' (Java 17 or newer)."
DEFAULT_MASTER = "local[*]"
PATH_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
# Column names inside the aggregation, clear of any user column.
_S = "__mc_s{}"
_T, _PRED, _SCORE, _BAD, _N = "__mc_t", "__mc_pred", "__mc_score", "__mc_bad", "__mc_n"


# Spark's log for a card: errors only, no startup banner (see the file for why).
LOG4J2_CONFIG = Path(__file__).with_name("spark-log4j2.properties")
# The JVM prints this itself (Spark's launcher adds the module on Java 17 and newer), before
# any logging starts and with no flag to turn it off: it is the one line dropped from the
# JVM's stderr, which passes everything else on.
_JVM_NOISE = b"WARNING: Using incubator modules: jdk.incubator.vector"


def _pyspark() -> Any:
    # pyspark warns on every run that it "does not yet fully support pandas >= 3.0.0": words
    # for pyspark's developers, not for a card's reader. That one warning only.
    warnings.filterwarnings(
        "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
    )
    try:
        import pyspark
    except ImportError:
        raise ModelcardsError("The Spark engine needs pyspark.", hint=INSTALL_HINT) from None
    return pyspark


def _conf_dir() -> Path | None:
    """Spark's configuration folder: ``SPARK_CONF_DIR``, else ``SPARK_HOME/conf``."""
    if os.environ.get("SPARK_CONF_DIR"):
        return Path(os.environ["SPARK_CONF_DIR"])
    if os.environ.get("SPARK_HOME"):
        return Path(os.environ["SPARK_HOME"]) / "conf"
    return None


def default_master() -> str:
    """The master a session uses when ``--spark-master`` is not given: ``SPARK_MASTER``,
    else ``spark.master`` in ``spark-defaults.conf`` (``SPARK_CONF_DIR`` or
    ``SPARK_HOME/conf``), else ``local[*]``."""
    env = os.environ.get("SPARK_MASTER")
    if env:
        return env
    conf_dir = _conf_dir()
    if conf_dir:
        defaults = conf_dir / "spark-defaults.conf"
        if defaults.is_file():
            for line in defaults.read_text().splitlines():
                key, _, value = line.strip().partition(" ")
                if key == "spark.master" and value.strip():
                    return value.strip()
    return DEFAULT_MASTER


def spark_session(master: str | None = None) -> SparkSession:
    """The running SparkSession, or a new one on ``master``, bound to the loopback address
    for its driver unless ``SPARK_*`` settings say otherwise, with the web UI off.

    Args:
        master: A Spark master URL (``local[2]``, ``spark://host:7077``); None for
            ``default_master()``.
    """
    _pyspark()
    from pyspark.sql import SparkSession

    # Executors run Python UDFs with PYSPARK_PYTHON, else "python3" from the PATH, which
    # may lack this environment's libraries: default to the interpreter running the card.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    # A card needs no UI, and a driver on loopback is reachable only from this machine
    # unless the user's own settings (SPARK_LOCAL_IP, spark-defaults) choose an address.
    host = os.environ.get("SPARK_LOCAL_IP", "127.0.0.1")
    settings = {
        "spark.app.name": "modelcards card",
        "spark.master": master or default_master(),
        "spark.driver.host": host,
        "spark.driver.bindAddress": host,
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.session.timeZone": "UTC",
    }
    builder = SparkSession.builder
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        with _quiet_log():
            _start_jvm(settings)
            spark = builder.getOrCreate()
    except Exception as exc:  # py4j and the JVM raise many kinds; all mean "no Spark here"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelcardsError(
            f"Cannot start Spark on {master or default_master()}: {first}",
            hint="Check --spark-master and that Java 17 or newer is installed (java -version).",
        ) from exc
    spark.sparkContext.setLogLevel("ERROR")
    return spark


@contextmanager
def _quiet_log() -> Iterator[None]:
    """Spark's JVM, started within, logs with ``LOG4J2_CONFIG`` (errors only, no banner),
    unless the user has a log4j2 configuration of their own: ``LOG4J_CONFIGURATION_FILE``,
    or a ``log4j2.*`` file in Spark's configuration folder, which Spark reads."""
    conf_dir = _conf_dir()
    own = os.environ.get("LOG4J_CONFIGURATION_FILE") or (
        conf_dir is not None and any(conf_dir.glob("log4j2.*"))
    )
    if own:
        yield
        return
    # Log4j reads LOG4J_CONFIGURATION_FILE as it starts, before the first line is logged:
    # sc.setLogLevel comes after the banner, and spark.driver.extraJavaOptions would
    # replace the user's own options from spark-defaults.conf.
    os.environ["LOG4J_CONFIGURATION_FILE"] = str(LOG4J2_CONFIG)
    try:
        yield
    finally:
        del os.environ["LOG4J_CONFIGURATION_FILE"]


def _start_jvm(settings: dict[str, str]) -> None:
    """Start Spark's JVM, as ``getOrCreate`` would, but with its stderr passed on through a
    thread that drops ``_JVM_NOISE``: Java's errors, Spark's errors and the executors'
    Python output (local mode) all still reach the terminal.

    Does nothing when a JVM runs already (a stopped session's, or pyspark's shell's), or
    when pyspark's internals are not as expected: then the line is printed, nothing else.

    Args:
        settings: The session's settings, passed to ``spark-submit`` as ``getOrCreate``
            passes them.
    """
    from pyspark import SparkConf, SparkContext
    from pyspark.java_gateway import launch_gateway

    if (
        getattr(SparkContext, "_gateway", True) is not None
        or not hasattr(SparkContext, "_ensure_initialized")
        or "PYSPARK_GATEWAY_PORT" in os.environ
    ):
        return
    conf = SparkConf()
    for key, value in settings.items():
        conf.set(key, value)
    read, write = os.pipe()
    forward = threading.Thread(
        target=_pass_on, args=(read,), name="modelcards-spark-stderr", daemon=True
    )
    forward.start()
    try:
        gateway = launch_gateway(conf, popen_kwargs={"stderr": write})  # type: ignore[no-untyped-call]
    except BaseException:
        os.close(write)
        forward.join(timeout=5)  # Java's own words on why it did not start, before ours
        raise
    os.close(write)  # the JVM holds its own copy
    # What getOrCreate does with a gateway it launched itself; it then finds this one.
    SparkContext._ensure_initialized(gateway=gateway, conf=conf)


def _pass_on(read: int) -> None:
    """Copy the JVM's stderr to ours line by line, all but ``_JVM_NOISE``, until the JVM
    ends. Written to file descriptor 2, as the JVM itself would, and never stopped by a
    failed write: a JVM whose stderr pipe fills up stops."""
    with os.fdopen(read, "rb") as pipe:
        for line in iter(pipe.readline, b""):
            if line.rstrip(b"\r\n") == _JVM_NOISE:
                continue
            with suppress(OSError):
                os.write(2, line)


@dataclass(frozen=True)
class SparkData:
    """Evaluation data as a Spark DataFrame, with how messages and the card name it.

    Attributes:
        frame: The rows (not read yet: Spark reads them when the aggregation runs).
        where: How messages and the card name the data (a file's name, ``the table T``).
        kind: ``"parquet"``, ``"csv"`` or ``"table"``.
        source: How the card names the data (a file's name, or the table's).
    """

    frame: SparkFrame
    where: str
    kind: str
    source: str


def read_spark_data(spark: SparkSession, data: str | Path) -> SparkData:
    """A Parquet or CSV path (a file or a folder of parts; any URL Spark reads), or the
    name of a table in the Spark catalog.

    Args:
        spark: The session.
        data: A path ending in .parquet/.pq/.csv, a folder of such files, or a table name.
    """
    from pyspark.errors import AnalysisException

    text = str(data)
    path = Path(text)
    suffix = path.suffix.lower()
    is_url = "://" in text
    kind = PATH_SUFFIXES.get(suffix)
    if kind is None and path.is_dir():
        parts = {p.suffix.lower() for p in path.iterdir() if not p.name.startswith((".", "_"))}
        kind = "csv" if parts == {".csv"} else "parquet"
    if kind is None and (is_url or path.exists()):
        raise DataError(
            f"Cannot tell the format of {text!r} from its suffix.",
            hint="Name the file .csv or .parquet.",
        )
    try:
        if kind is None:
            return SparkData(spark.table(text), f"the table {text}", "table", text)
        if not is_url and not path.exists():
            raise DataError(f"No file at {path}.", hint="Check the path given to --data.")
        reader = spark.read
        frame = (
            reader.csv(text, header=True, inferSchema=True)
            if kind == "csv"
            else reader.parquet(text)
        )
    except AnalysisException as exc:
        first = str(exc).strip().splitlines()[0]
        if kind is None:
            # Spark's own text for a missing table is a paragraph of advice: name only it.
            why = "" if "TABLE_OR_VIEW_NOT_FOUND" in first else f" ({first})"
            raise DataError(
                f"{text!r} is neither a file nor a table in the Spark catalog{why}.",
                hint="Give a .csv or .parquet path, or a table name Spark knows.",
            ) from exc
        raise DataError(
            f"Spark cannot read {path.name} as {kind}: {first}",
            hint="Give a UTF-8 CSV file with a header row, or Parquet.",
        ) from exc
    return SparkData(frame, path.name, kind, path.name)


@dataclass
class SparkTables:
    """What the Spark engine brings back to the driver: the aggregate contract's tables
    (see ``modelcards._aggregate``) and what the card says about the data.

    Attributes:
        features: The sensitive columns, in order.
        counts: One row per (groups, label, pred) combination with its count ``n``; the
            sensitive values as the rows hold them (None when missing).
        score_counts: One row per (groups, score, label) with its count ``n``, or None
            without scores.
        rows: How many rows the data has.
        columns: The data's columns.
        positive: The positive outcome, as the target holds it.
        negative: The other outcome.
        described: Where the predictions came from, for the card.
        threshold: The threshold that cut scores into labels, if one did.
    """

    features: list[str]
    counts: pd.DataFrame
    score_counts: pd.DataFrame | None
    rows: int
    columns: list[str]
    positive: Any
    negative: Any
    described: str
    threshold: float | None


def spark_tables(
    data: SparkData,
    *,
    target: str,
    sensitive: Sequence[str],
    source: PredictionSource,
    options: CardOptions,
    loaded: LoadedModel | None = None,
    registry: Registry | None = None,
    allow_pickle: bool = False,
    trusted_types: Sequence[str] | None = (),
) -> SparkTables:
    """The count table and the per-score counts of a card, as one Spark aggregation.

    Args:
        data: From ``read_spark_data``.
        target: The true outcome column.
        sensitive: The sensitive columns.
        source: Where predictions come from (``PredictionSource.choose``).
        options: The positive label and reference groups (checked against the columns).
        loaded: The registered model, for ``source.kind == "model"``.
        registry: Where ``loaded`` is stored (its files are shipped to the executors).
        allow_pickle: Let the executors load a pickle model file, as the driver did.
        trusted_types: More types to trust in a skops file, as on the driver.
    """
    from pyspark.sql import functions as F

    df, where = data.frame, data.where
    cols = list(sensitive)
    header = _checked_header(data, target=target, sensitive=cols, options=options)
    if loaded is not None and loaded.task == "regression":
        raise UnsupportedTaskError(
            f"{loaded.uri} is a regression model; the Spark engine makes binary "
            "classification cards.",
            hint="Use --engine memory for a regression card.",
        )
    keys = [df[c].alias(_S.format(i)) for i, c in enumerate(cols)] + [df[target].alias(_T)]
    threshold = source.threshold
    if source.kind == "model":
        if loaded is None or registry is None:
            raise DataError("A model source needs the loaded model and its registry.")
        require_columns(header, loaded.feature_names, where=where, role="model input")
        trusted = tuple(sorted(trusted_types or ()))
        rows = _model_rows(df, keys, loaded, registry, allow_pickle, trusted)
        described = loaded.uri + (f" at threshold {threshold:g}" if threshold is not None else "")
    else:
        assert source.column is not None  # set by PredictionSource.choose
        role = "predictions" if source.kind == "column" else "scores"
        require_columns(header, [source.column], where=where, role=role)
        raw = df[source.column]
        if source.kind == "column":
            rows = df.select(*keys, raw.alias(_PRED))
            described = f"column {source.column!r}"
        else:
            score = raw.try_cast("double")  # a non-number becomes null, found below
            # pandas reads NaN as a missing score: so does this engine.
            clean = F.when(F.isnan(score), F.lit(None)).otherwise(score)
            bad = raw.isNotNull() & score.isNull()
            rows = df.select(*keys, clean.alias(_SCORE), bad.alias(_BAD))
            bad_rows = df.where(bad).select(raw)
            described = f"column {source.column!r} at threshold {threshold:g}"
    collected = rows.groupBy(*rows.columns).agg(F.count(F.lit(1)).alias(_N)).collect()
    table = pd.DataFrame.from_records(
        [tuple(r) for r in collected], columns=[*rows.columns, _N]
    ).astype({_N: np.int64})
    values = _target_values(table, target, where)
    model_positive = loaded.positive_label if loaded else None
    from ._pipeline import _positive_label, check_model_classes

    pos = _positive_label(values, options.positive_label, model_positive, target)
    neg = next(v for v in values if v != pos)
    if loaded is not None:
        check_model_classes(loaded, values, target)
    label = table[_T].map(lambda v: v == pos).astype(bool)
    if source.kind == "scores":
        _check_scores(table, bad_rows, source.column or "")
    has_scores = _SCORE in table.columns and bool(table[_SCORE].notna().all())
    if threshold is not None and has_scores:
        pred = table[_SCORE].astype(np.float64) >= threshold
    else:  # a predictions column, or the model's own labels (text, matched as relabel does)
        what = source.column or "" if source.kind == "column" else loaded.uri if loaded else ""
        pred = _predicted_labels(table[_PRED], values, pos, what, table[_N])
    groups = {c: _group_values(table[_S.format(i)]) for i, c in enumerate(cols)}
    counts = _summed(pd.DataFrame({**groups, "label": label, "pred": pred, "n": table[_N]}))
    score_counts = None
    if has_scores:
        score_counts = _summed(
            pd.DataFrame(
                {
                    **groups,
                    "score": table[_SCORE].astype(np.float64),
                    "label": label,
                    "n": table[_N],
                }
            )
        )
    return SparkTables(
        features=cols,
        counts=counts,
        score_counts=score_counts,
        rows=int(table[_N].sum()),
        columns=[str(c) for c in df.columns],
        positive=pos,
        negative=neg,
        described=described,
        threshold=threshold,
    )


def _checked_header(
    data: SparkData, *, target: str, sensitive: list[str], options: CardOptions
) -> pd.DataFrame:
    """The data's columns as an empty frame, after the in-memory path's checks of the
    target, sensitive and reference columns."""
    header = pd.DataFrame(columns=data.frame.columns)
    require_columns(header, [target], where=data.where, role="target")
    require_columns(header, sensitive, where=data.where, role="sensitive")
    if target in sensitive:
        raise DataError(f"{target!r} is both the target and a sensitive column.")
    for col in options.reference_groups or {}:
        if col not in sensitive:
            raise DataError(
                f"--reference names {col!r}, which is not a sensitive column.",
                hint="Sensitive columns: " + ", ".join(sensitive) + ".",
            )
    return header


def _summed(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows that differ only in what was collapsed (a raw value, a score) added up."""
    keys = [c for c in frame.columns if c != "n"]
    out = frame.groupby(keys, dropna=False, sort=False, observed=True)["n"].sum().reset_index()
    return out.astype({"n": np.int64})


def _group_values(values: pd.Series[Any]) -> pd.Series[Any]:
    """Group values as the in-memory path reads them: their own type (numbers sort as
    numbers), missing as None (a null or NaN), and whole numbers with a gap as floats,
    as pandas reads such a column."""
    present = [v for v in values.drop_duplicates() if not _missing(v)]
    has_gap = len(present) < values.nunique(dropna=False)
    widen = has_gap and all(isinstance(v, int) and not isinstance(v, bool) for v in present)
    mapping = {v: None if _missing(v) else float(v) if widen else v for v in values.unique()}
    return values.map(mapping).astype(object)


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _target_values(table: pd.DataFrame, target: str, where: str) -> list[Any]:
    """The target's two values, checked on the aggregate as the in-memory path checks rows."""
    missing = table[_T].isna()
    if missing.any():
        raise DataError(
            f"The target column {target!r} has {int(table.loc[missing, _N].sum())} missing "
            f"value(s) in {where}.",
            hint="Drop or fill those rows first.",
        )
    from ._pipeline import check_target_values

    values = list(pd.unique(table[_T]))
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    if len(values) > 2 and numeric:  # the in-memory path would make a regression card
        raise UnsupportedTaskError(
            f"The target column {target!r} holds numbers with {len(values)} distinct values: "
            "a regression card, which the Spark engine does not make.",
            hint="Use --engine memory for a regression card.",
        )
    return check_target_values(values, 0, None, target)


def _predicted_labels(
    raw: pd.Series[Any], values: list[Any], pos: Any, column: str, n: pd.Series[Any]
) -> pd.Series[Any]:
    """Whether each predicted label is the positive one, matched by text as ``relabel``
    does; missing or unknown labels are refused with the in-memory path's messages."""
    missing = raw.isna()
    if missing.any():
        raise DataError(
            f"The predictions column {column!r} has {int(n[missing].sum())} missing value(s).",
            hint="Every row needs a prediction.",
        )
    by_text = {str(v) for v in values}
    unknown = sorted({str(u) for u in raw.unique()} - by_text)
    if unknown:
        raise UnsupportedTaskError(
            f"The predictions hold {unknown}, which are not values of the target "
            f"({sorted(by_text)}).",
            hint="Predictions must use the target's two labels.",
        )
    return raw.map(lambda v: str(v) == str(pos)).astype(bool)


def _check_scores(table: pd.DataFrame, bad_rows: SparkFrame, column: str) -> None:
    bad = table[_BAD].astype(bool)
    if bad.any():
        # Only on this error path does Spark look for an example row.
        example = bad_rows.limit(1).collect()
        shown = f", e.g. {str(example[0][0])!r}" if example else ""
        raise DataError(
            f"The scores column {column!r} holds {int(table.loc[bad, _N].sum())} non-number(s)"
            f"{shown}.",
            hint="Scores must be numbers.",
        )
    missing = table[_SCORE].isna()
    if missing.any():
        raise DataError(
            f"The scores column {column!r} has {int(table.loc[missing, _N].sum())} missing "
            "value(s).",
            hint="Every row needs a score.",
        )


def _check_text(data: SparkData, counts: pd.DataFrame, columns: Sequence[str]) -> None:
    """Refuse group names that a CSV in another encoding left broken: Spark's CSV reader
    replaces bytes that are not UTF-8 with U+FFFD and reads on, so "Françoise" in Latin-1
    would become the group "Fran\ufffdoise". Only the groups reach the driver, and only
    they are looked at: nothing more is read.

    Args:
        data: From ``read_spark_data``.
        counts: The count table (one column per sensitive feature).
        columns: The sensitive columns.
    """
    if data.kind != "csv":
        return
    for col in columns:
        for value in counts[col].dropna().unique().tolist():
            if isinstance(value, str) and "\ufffd" in value:
                raise DataError(
                    f"Cannot read {data.where} as CSV: it is not UTF-8 text (the group "
                    f"{value!r} of {col!r} holds U+FFFD, which Spark puts in place of bytes "
                    "that are not UTF-8).",
                    hint="Save it as CSV in UTF-8 (in Excel: Save As, CSV UTF-8).",
                )


@contextmanager
def session_for(master: str | None, progress: Callable[[str], None]) -> Iterator[SparkSession]:
    """The session a card (or a comparison) runs in: the one already running in this
    process, used as it is; else one started on ``master`` and stopped at the end.

    Args:
        master: The Spark master URL (default: ``default_master()``).
        progress: Told whether Spark starts or is joined.
    """
    _pyspark()
    from pyspark.sql import SparkSession

    owned = SparkSession.getActiveSession() is None
    progress(f"starting Spark ({master or default_master()})" if owned else "joining Spark")
    spark = spark_session(master)
    try:
        yield spark
    finally:
        if owned:
            spark.stop()


# -- the card's parts ----------------------------------------------------------------------
def spark_card(
    source: PredictionSource,
    *,
    data: str | Path,
    loaded: LoadedModel | None,
    registry: Registry | None,
    target: str | None,
    sensitive: Sequence[str] | None,
    options: CardOptions,
    allow_pickle: bool = False,
    trusted_types: Sequence[str] | None = (),
    master: str | None = None,
    progress: Callable[[str], None] = lambda msg: None,
) -> BatchedParts:
    """The assessment, data facts and predictions of a card computed on Spark: the same
    parts as the batched engine's, for ``card_from_parts``.

    A session already running in this process is used as it is (``master`` is then
    ignored); one started here is stopped before returning.

    Args:
        source: Where the predictions come from.
        data: A Parquet/CSV path (file or folder) or a table in the Spark catalog.
        loaded: The registered model, for a model source.
        registry: Where ``loaded`` is stored (default: the registry it came from).
        target: The target column (default: the model's).
        sensitive: The sensitive columns (default: the model's).
        options: Confidence, minimum group size, positive label, references.
        allow_pickle: Let the executors load a pickle model file, as the driver did.
        trusted_types: More types to trust in a skops file.
        master: The Spark master URL (default: ``default_master()``).
        progress: Called with a short message as each step starts.
    """
    from ._aggregate import Aggregates, assess_aggregates
    from ._background import done
    from ._batched import BatchedParts
    from ._digest import sha256_future
    from ._pipeline import DataFacts, Predictions

    target = target or (loaded.target if loaded else None)
    if not target:
        raise DataError("Name the target column with --target COLUMN.")
    cols = list(sensitive or (loaded.sensitive_features if loaded else []))
    if not cols:
        raise DataError("Name at least one sensitive column with --sensitive COL[,COL...].")
    if loaded is not None and registry is None:
        registry = loaded._registry
    with session_for(master, progress) as spark:
        sd = read_spark_data(spark, data)
        path = Path(data)
        # A single local file is hashed as the in-memory path hashes it, on a second core.
        digest = sha256_future(path) if path.is_file() else done("")
        progress("counting outcomes by group on Spark")
        tables = spark_tables(
            sd,
            target=target,
            sensitive=cols,
            source=source,
            options=options,
            loaded=loaded,
            registry=registry,
            allow_pickle=allow_pickle,
            trusted_types=trusted_types,
        )
    _check_text(sd, tables.counts, tables.features)
    assessment = assess_aggregates(
        Aggregates(tables.features, tables.counts, tables.score_counts),
        confidence=options.confidence,
        min_group_size=options.min_group_size,
        intersection=options.intersection,
        reference_groups=options.reference_groups,
        progress=progress,
    )
    facts = DataFacts(
        source=sd.source,
        sha256=digest.result(),
        rows=tables.rows,
        columns=tables.columns,
        target=target,
        positive=tables.positive,
    )
    predictions = Predictions(np.empty(0, dtype=object), None, tables.described, tables.threshold)
    return BatchedParts(assessment, facts, predictions)


# -- a comparison: both versions predict on the executors --------------------------------
_PA, _PB, _CUT = "__mc_pa", "__mc_pb", "__mc_cut"


def spark_paired_counts(
    data: SparkData,
    *,
    target: str,
    sensitive: Sequence[str],
    loaded_a: LoadedModel,
    loaded_b: LoadedModel,
    threshold_b: float | None,
    options: CardOptions,
    registry: Registry,
    allow_pickle: bool = False,
    trusted_types: Sequence[str] | None = (),
) -> PairedCounts:
    """Both versions' predictions counted per (groups, label, prediction A, prediction B)
    as one Spark aggregation: the executors predict with both (``mapInPandas``, each
    version loaded from its shipped files through the safe loader) and only the paired
    count table reaches the driver, where the in-memory path's checks run on it.

    Args:
        data: From ``read_spark_data``.
        target: The true outcome column.
        sensitive: The sensitive columns.
        loaded_a: Version A (the version in use), already checked comparable with B.
        loaded_b: Version B (the candidate).
        threshold_b: Cuts B's probabilities into labels (a card's ``--threshold``), or None.
        options: The positive label and reference groups.
        registry: Where both versions are stored (their files go to the executors).
        allow_pickle: Let the executors load a pickle model file, as the driver did.
        trusted_types: More types to trust in a skops file, as on the driver.
    """
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    from ._batched import PairedCounts
    from ._pipeline import _positive_label, check_model_classes

    df, where = data.frame, data.where
    cols = list(sensitive)
    header = _checked_header(data, target=target, sensitive=cols, options=options)
    features = loaded_b.feature_names
    require_columns(header, features, where=where, role="model input")
    require_columns(header, loaded_a.feature_names, where=where, role="model input")
    keys = [df[c].alias(_S.format(i)) for i, c in enumerate(cols)] + [df[target].alias(_T)]
    inputs = df.select(*keys, *[df[c].alias(f"__mc_x{i}") for i, c in enumerate(features)])
    key_fields = [f for f in inputs.schema.fields if not f.name.startswith("__mc_x")]
    schema = T.StructType(
        [
            *key_fields,
            T.StructField(_PA, T.StringType(), False),
            T.StructField(_PB, T.StringType(), False),
            T.StructField(_CUT, T.BooleanType(), True),
        ]
    )
    trusted = tuple(sorted(trusted_types or ()))
    pair = ExecutorPair(
        a=_executor_model(df, model_files(registry, loaded_a), loaded_a, allow_pickle, trusted),
        b=_executor_model(df, model_files(registry, loaded_b), loaded_b, allow_pickle, trusted),
        threshold_b=threshold_b,
    )
    rows = inputs.mapInPandas(pair, schema)
    collected = rows.groupBy(*rows.columns).agg(F.count(F.lit(1)).alias(_N)).collect()
    table = pd.DataFrame.from_records(
        [tuple(r) for r in collected], columns=[*rows.columns, _N]
    ).astype({_N: np.int64})
    values = _target_values(table, target, where)
    pos = _positive_label(values, options.positive_label, loaded_b.positive_label, target)
    check_model_classes(loaded_b, values, target)
    check_model_classes(loaded_a, values, target)
    label = table[_T].map(lambda v: v == pos).astype(bool)
    pred_a = _predicted_labels(table[_PA], values, pos, loaded_a.uri, table[_N])
    if threshold_b is not None and bool(table[_CUT].notna().all()):
        pred_b = table[_CUT].astype(bool)
    else:  # no threshold, or a model without probabilities: its own labels
        pred_b = _predicted_labels(table[_PB], values, pos, loaded_b.uri, table[_N])
    groups = {c: _group_values(table[_S.format(i)]) for i, c in enumerate(cols)}
    counts = _summed(
        pd.DataFrame({**groups, "label": label, "pred_a": pred_a, "pred_b": pred_b, "n": table[_N]})
    )
    _check_text(data, counts, cols)
    return PairedCounts(cols, counts, data.source)


@dataclass(frozen=True)
class ExecutorPair:
    """Both versions on an executor: each batch is predicted by A and by B.

    Attributes:
        a: Version A (its labels).
        b: Version B (its labels, and its probabilities cut at ``threshold_b``).
        threshold_b: B's threshold, or None.
    """

    a: ExecutorModel
    b: ExecutorModel
    threshold_b: float | None

    def __call__(self, batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        """Keys pass through; the inputs become A's and B's labels (as text) and whether
        B's probability reaches its threshold (null without one).

        Args:
            batches: Arrow batches of one partition, as pandas frames.
        """
        names = [f"__mc_x{i}" for i in range(len(self.b.features))]
        for batch in batches:
            x = batch[names].set_axis(self.b.features, axis=1)
            labels_a, _ = self.a.predict(x)
            labels_b, scores_b = self.b.predict(x)
            out = batch.drop(columns=names)
            out[_PA] = [str(v) for v in labels_a]
            out[_PB] = [str(v) for v in labels_b]
            cut = pd.Series(pd.NA, index=out.index, dtype="boolean")
            if self.threshold_b is not None and scores_b is not None:
                # numpy's comparison, as in memory: a NaN probability is not positive.
                cut[:] = np.asarray(scores_b, dtype=np.float64) >= self.threshold_b
            out[_CUT] = cut
            yield out


# -- a registered model on the executors --------------------------------------------------
def _model_rows(
    df: SparkFrame,
    keys: list[Any],
    loaded: LoadedModel,
    registry: Registry,
    allow_pickle: bool,
    trusted_types: tuple[str, ...],
) -> SparkFrame:
    """Per-row (groups, target, predicted label as text, score) from the model, on the
    executors."""
    from pyspark.sql import types as T

    files = model_files(registry, loaded)
    features = loaded.feature_names
    inputs = df.select(*keys, *[df[c].alias(f"__mc_x{i}") for i, c in enumerate(features)])
    key_fields = [f for f in inputs.schema.fields if not f.name.startswith("__mc_x")]
    schema = T.StructType(
        [
            *key_fields,
            T.StructField(_PRED, T.StringType(), False),
            T.StructField(_SCORE, T.DoubleType(), True),
        ]
    )
    predictor = _executor_model(df, files, loaded, allow_pickle, trusted_types)
    return inputs.mapInPandas(predictor, schema)


def _executor_model(
    df: SparkFrame,
    files: dict[str, bytes],
    loaded: LoadedModel,
    allow_pickle: bool,
    trusted_types: tuple[str, ...],
) -> ExecutorModel:
    """What the executors predict with: the version's files broadcast as bytes."""
    return ExecutorModel(
        files=df.sparkSession.sparkContext.broadcast(files),
        digest=_digest(files),
        uri=loaded.uri,
        features=loaded.feature_names,
        positive_label=loaded.positive_label,
        allow_pickle=allow_pickle,
        trusted_types=trusted_types,
    )


def _digest(files: dict[str, bytes]) -> str:
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return h.hexdigest()


def model_files(registry: Registry, loaded: LoadedModel) -> dict[str, bytes]:
    """The stored files of a model version (MLmodel and the model file), as bytes.

    Args:
        registry: Where the version is stored.
        loaded: The version, already loaded (and so checked) on the driver.
    """
    import mlflow.artifacts

    from ._registry import _quiet, _unreadable

    location = registry.client.get_model_version_download_uri(loaded.name, str(loaded.version))
    # _quiet: no MLflow download bars on stderr, as when the registry loads the model.
    with _quiet(), tempfile.TemporaryDirectory(prefix="modelcards-spark-") as tmp:
        try:
            local = Path(
                mlflow.artifacts.download_artifacts(
                    artifact_uri=location, dst_path=tmp, tracking_uri=registry.tracking_uri
                )
            )
        except Exception as exc:  # each artifact store raises its own kinds
            raise _unreadable("the model files", loaded.uri, exc, tmp) from exc
        return {
            p.relative_to(local).as_posix(): p.read_bytes()
            for p in sorted(local.rglob("*"))
            if p.is_file()
        }


# One loaded model per executor process and version: Python workers are reused across
# tasks, so a version is read from its bytes once per worker, not once per partition.
_EXECUTOR_MODELS: dict[tuple[str, bool, tuple[str, ...]], Any] = {}
_EXECUTOR_LOCK = threading.Lock()


@dataclass(frozen=True)
class ExecutorModel:
    """What an executor needs to predict: the model's stored files (a broadcast of bytes,
    never a pickled estimator) and how to read its output.

    Attributes:
        files: A broadcast of ``{relative path: bytes}`` of the stored model folder.
        digest: The files' SHA-256, the key of the per-worker cache.
        uri: The pinned model reference, for messages.
        features: The model's input columns, in order.
        positive_label: The model's positive class (whose probability is the score).
        allow_pickle: Whether a pickle model file may be loaded (as on the driver).
        trusted_types: Extra types trusted in a skops file.
    """

    files: Any
    digest: str
    uri: str
    features: list[str]
    positive_label: Any
    allow_pickle: bool
    trusted_types: tuple[str, ...]

    def model(self) -> Any:
        """The estimator, read from the shipped files through the registry's safe loader."""
        key = (self.digest, self.allow_pickle, self.trusted_types)
        with _EXECUTOR_LOCK:
            if key not in _EXECUTOR_MODELS:
                from ._registry import _load_model_dir, _read_mlmodel

                with tempfile.TemporaryDirectory(prefix="modelcards-executor-") as tmp:
                    local = Path(tmp)
                    for name, data in self.files.value.items():
                        (local / name).parent.mkdir(parents=True, exist_ok=True)
                        (local / name).write_bytes(data)
                    mlmodel, _ = _read_mlmodel(local / "MLmodel")
                    _EXECUTOR_MODELS[key] = _load_model_dir(
                        local, mlmodel, self.allow_pickle, self.trusted_types, self.uri
                    )
            return _EXECUTOR_MODELS[key]

    def __call__(self, batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        """Predict batch by batch: keys pass through, inputs become the predicted label
        (as text) and the positive class's probability (NaN without ``predict_proba``).

        Args:
            batches: Arrow batches of one partition, as pandas frames.
        """
        names = [f"__mc_x{i}" for i in range(len(self.features))]
        for batch in batches:
            labels, scores = self.predict(batch[names].set_axis(self.features, axis=1))
            out = batch.drop(columns=names)
            out[_PRED] = [str(v) for v in labels]
            out[_SCORE] = scores if scores is not None else np.nan
            yield out

    def predict(self, x: pd.DataFrame) -> tuple[Any, Any]:
        """The predicted labels and the positive class's probability (None without
        ``predict_proba``) of rows holding the model's inputs.

        Args:
            x: The inputs, by the model's column names.
        """
        model = self.model()
        x = x[self.features]
        # The same rule as LoadedModel.predict_with_scores: the most probable class,
        # the first on a tie; without predict_proba, the model's label and no score.
        if not hasattr(model, "predict_proba"):
            return np.asarray(model.predict(x)), None
        proba = np.asarray(model.predict_proba(x), dtype=np.float64)
        classes = np.asarray(model.classes_)
        idx = list(classes).index(self.positive_label)
        if proba.shape[1] == 2:
            best = (proba[:, 1] > proba[:, 0]).view(np.int8)
        else:
            best = np.argmax(proba, axis=1)
        return classes[best], proba[:, idx]
