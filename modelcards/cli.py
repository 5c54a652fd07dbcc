"""The ``modelcards`` command line.

Every domain error prints its cause and a hint and exits 2 with no traceback. Heavy
libraries are imported inside the command that needs them, so ``--help`` is instant.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import click

from .errors import ModelcardsError, shown_uri

if TYPE_CHECKING:  # pragma: no cover
    from ._pipeline import CardResult
    from ._registry import Registry
    from ._summary import ReleaseSummary

EXIT_USAGE = 2


class _Group(click.Group):
    """Turns a ModelcardsError anywhere below into a clean message and exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ModelcardsError as exc:
            click.secho(f"Error: {exc.message}", fg="red", err=True)
            if exc.hint:
                click.echo(f"Hint: {exc.hint}", err=True)
            ctx.exit(EXIT_USAGE)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="modelcards")
def main() -> None:
    """Model Cards, fairness audits and stakeholder demos for models in an MLflow registry.

    The registry is the SQLite store in ./.modelcards (MODELCARDS_HOME moves it), or the
    store or server named by MLFLOW_TRACKING_URI.
    """


def _registry() -> Registry:
    from ._registry import Registry

    return Registry()


@main.command()
def models() -> None:
    """List registered models, their versions and aliases."""
    reg = _registry()
    found = reg.list_models()
    if not found:
        click.echo(f"No registered models in {shown_uri(reg.tracking_uri)}.")
        click.echo("Run `modelcards examples` to register the example models.")
        return
    rows = [("MODEL", "VERSION", "ALIASES", "CREATED", "DESCRIPTION")]
    for m in found:
        for v in m.versions:
            rows.append(
                (
                    m.name,
                    str(v.version),
                    ", ".join(f"@{a}" for a in sorted(v.aliases)) or "-",
                    v.created.strftime("%Y-%m-%d %H:%M"),
                    (v.description or m.description or "-").splitlines()[0][:60],
                )
            )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    click.echo(f"\nRegistry: {shown_uri(reg.tracking_uri)}")


@main.command()
@click.option(
    "--if-empty", is_flag=True, help="Do nothing when the registry already holds any model."
)
def examples(if_empty: bool) -> None:
    """Train and register the example models (idempotent).

    Two versions of `arrests-release`, trained on the Toronto arrests data that
    scikit-lego ships: a logistic regression (@champion) and one with pairwise
    interactions (@challenger); and `diabetes-progression` (@champion), a ridge
    regression on the diabetes data that scikit-learn ships.
    """
    from ._examples import register_examples

    reg = _registry()
    if if_empty and not reg.is_empty():
        click.echo(
            f"The registry at {shown_uri(reg.tracking_uri)} already has models; nothing to do."
        )
        return
    start = time.perf_counter()
    done = register_examples(reg, progress=lambda msg: click.echo(f"... {msg}", err=True))
    if not done:
        click.echo("The example models are already registered; nothing to do.")
        return
    for ref in done:
        click.echo(f"registered {ref}")
    click.echo(f"in {time.perf_counter() - start:.1f}s, registry: {shown_uri(reg.tracking_uri)}")


@main.command()
@click.option("--rows", type=click.IntRange(min=1), default=10_000, show_default=True)
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False),
    required=True,
    help="Output file, .csv or .parquet.",
)
@click.option("--seed", type=int, default=0, show_default=True)
def synth(rows: int, out: str, seed: int) -> None:
    """Write synthetic binary-classification data with a known disparity.

    Sensitive features `sex` (2 levels) and `group` (5 levels); the target is `approved`
    and `score` is a vendor's score that gives group E a higher false-negative rate.
    """
    from ._synth import synthesize, write_frame

    if Path(out).suffix.lower() not in {".csv", ".parquet", ".pq"}:
        raise ModelcardsError(
            f"Cannot tell the format of {out!r} from its suffix.",
            hint="Name the output file .csv or .parquet.",
        )
    start = time.perf_counter()
    path = write_frame(synthesize(rows, seed=seed), out)
    click.echo(f"wrote {rows:,} rows to {path} in {time.perf_counter() - start:.1f}s")


def _columns(ctx: click.Context, param: click.Parameter, value: str | None) -> list[str] | None:
    if value is None:
        return None
    cols = [c.strip() for c in value.split(",") if c.strip()]
    if not cols:
        raise click.BadParameter("give at least one column name, e.g. --sensitive sex,race")
    return cols


# The engine options card and compare share (--engine's help differs: it says what each
# engine does for that command).
_ENGINES = click.Choice(["auto", "memory", "batched", "spark"])
_batch_rows_option = click.option(
    "--batch-rows",
    type=click.IntRange(min=1),
    metavar="N",
    help="Rows per batch for --engine batched (default 1,000,000).",
)
_spark_master_option = click.option(
    "--spark-master",
    metavar="URL",
    help="The Spark master for --engine spark (default: SPARK_MASTER, else spark.master "
    "in spark-defaults.conf, else local[*]).",
)


@main.command()
@click.option(
    "--model",
    "model",
    metavar="models:/NAME@ALIAS",
    help="A registered model; predictions come from it.",
)
@click.option(
    "--data",
    type=click.Path(path_type=Path),
    help="Evaluation data, CSV or Parquet. Default: the split stored with --model.",
)
@click.option("--target", metavar="COL", help="The true outcome column.")
@click.option(
    "--sensitive",
    metavar="COL[,COL...]",
    callback=_columns,
    help="Sensitive columns; their intersection is assessed too.",
)
@click.option("--predictions", metavar="COL", help="A column of predicted labels (no --model).")
@click.option("--scores", metavar="COL", help="A column of scores (no --model); needs --threshold.")
@click.option(
    "--threshold", type=float, metavar="T", help="Predicted positive when the score is at least T."
)
@click.option(
    "--spec", type=click.Path(path_type=Path), help="Card spec YAML (the human-written sections)."
)
@click.option("--policy", type=click.Path(path_type=Path), help="Release policy YAML.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("model_card"),
    show_default=True,
    help="Output folder.",
)
@click.option(
    "--confidence",
    type=click.FloatRange(0.5, 1, max_open=True),
    default=0.95,
    show_default=True,
    help="Confidence level of the intervals.",
)
# Earlier cards drew bootstrap resamples; the intervals are exact now. Still accepted, so
# that existing CI scripts keep working, and named as ignored.
@click.option("--bootstrap", "n_boot", type=int, hidden=True)
@click.option("--seed", type=int, hidden=True)
@click.option(
    "--min-group-size",
    type=click.IntRange(min=1),
    default=30,
    show_default=True,
    help="Smaller groups are flagged and left out of headline disparities.",
)
@click.option(
    "--positive-label", metavar="V", help="The target value that is the positive outcome."
)
@click.option(
    "--reference",
    "references",
    multiple=True,
    metavar="COL=VALUE",
    help="Measure disparities of COL against this group instead of between all "
    "groups (repeatable).",
)
@click.option("--name", help="The model's name on the card (default: the registered name).")
@click.option(
    "--allow-pickle",
    is_flag=True,
    help="Allow pickle models, which run code when loaded. Only for trusted files.",
)
@click.option(
    "--trust-type",
    "trusted_types",
    multiple=True,
    metavar="TYPE",
    help="Allow one more type in a skops model file (repeatable).",
)
@click.option(
    "--compare-to",
    metavar="REF",
    help='The version the card\'s "Compared with" section measures --model against '
    "(default: the release alias's version, when --model is another one).",
)
@click.option(
    "--pdf",
    is_flag=True,
    help="Also write model_card_summary.pdf: one or two printable A4 pages (the version "
    "in use, intended use, the gate's verdict, the largest gaps, edge cases and flags).",
)
@click.option(
    "--engine",
    type=_ENGINES,
    default="auto",
    show_default=True,
    help="memory: read the data whole. batched: read a CSV/Parquet file in record batches, "
    "memory nearly flat however many rows (binary classifiers). auto: batched for files "
    "over 100 MB. spark: count on Apache Spark; --data is then Parquet/CSV paths or a "
    "table in the Spark catalog (needs modelcards[spark]).",
)
@_batch_rows_option
@click.option(
    "--publish",
    is_flag=True,
    help="Also store the card with the --model version in the registry: its files as "
    "artifacts, the tags modelcards.gate, modelcards.card_sha256 and modelcards.signoff, "
    "and a summary in the version's description.",
)
@_spark_master_option
def card(
    model: str | None,
    data: Path | None,
    target: str | None,
    sensitive: list[str] | None,
    predictions: str | None,
    scores: str | None,
    threshold: float | None,
    spec: Path | None,
    policy: Path | None,
    out_dir: Path,
    confidence: float,
    n_boot: int | None,
    seed: int | None,
    min_group_size: int,
    positive_label: str | None,
    references: tuple[str, ...],
    name: str | None,
    allow_pickle: bool,
    trusted_types: tuple[str, ...],
    compare_to: str | None,
    pdf: bool,
    engine: Literal["auto", "memory", "batched", "spark"],
    batch_rows: int | None,
    publish: bool,
    spark_master: str | None,
) -> None:
    """Generate a Model Card (HTML, Markdown, JSON) with a fairness audit.

    \b
    Exit codes: 0 every policy check passed (or no policy),
                1 a check failed or was inconclusive,
                2 bad usage or bad input (nothing is written).
    """
    from ._digest import start_sha256

    if data is not None:
        start_sha256(data)  # on the second core, while the imports below hold the first
    from ._pipeline import CardOptions, generate_card, write_card

    if publish and not model:
        raise ModelcardsError(
            "--publish stores the card with a registered version, and no --model was given.",
            hint="Add --model models:/NAME/VERSION, or drop --publish.",
        )
    reference_groups: dict[str, str] = {}
    for item in references:
        col, sep, value = item.partition("=")
        if not sep or not col:
            raise click.BadParameter(f"{item!r} is not COL=VALUE", param_hint="--reference")
        reference_groups[col] = value
    options = CardOptions(
        confidence=confidence,
        min_group_size=min_group_size,
        positive_label=positive_label,
        reference_groups=reference_groups or None,
    )
    if n_boot is not None or seed is not None:
        click.echo(
            "Note: --bootstrap and --seed are ignored: a card's intervals are exact "
            "(Clopper-Pearson per group, simultaneous for disparities) and need no "
            "resampling.",
            err=True,
        )
    registry = _registry() if model else None
    bar = _Progress()
    try:
        result = generate_card(
            model=model,
            registry=registry,
            data=data,
            target=target,
            sensitive=sensitive,
            predictions=predictions,
            scores=scores,
            threshold=threshold,
            spec=spec,
            policy=policy,
            name=name,
            options=options,
            allow_pickle=allow_pickle,
            trusted_types=trusted_types,
            progress=bar.step,
            engine=engine,
            batch_rows=batch_rows,
            compare_to=compare_to,
            spark_master=spark_master,
        )
        if model is not None:
            _attach_review(result)
        summary = None
        if pdf:
            bar.step("running the edge cases for the printable summary")
            summary = _release_summary(
                result, registry, model, allow_pickle=allow_pickle, trusted_types=trusted_types
            )
        published = None
        if publish and registry is not None:
            from ._pipeline import place_card_files
            from ._publish import publish_card

            # Published first, from a folder of its own: a publish that fails leaves
            # nothing in --out (exit 2 writes nothing).
            with tempfile.TemporaryDirectory(prefix="modelcards-card-") as staging:
                staged = write_card(result, staging, summary=summary)
                bar.step("publishing the card to the registry")
                published = publish_card(result, registry=registry, files=staged)
                bar.step("writing the card")
                paths = place_card_files(staged, out_dir)
        else:
            bar.step("writing the card")
            paths = write_card(result, out_dir, summary=summary)
    finally:
        bar.done()
    _summary(result, paths)
    if published is not None:
        click.echo(
            f"published to {published.uri}: {published.folder}/ in run {published.run_id}; "
            f"tags modelcards.gate={published.gate}, modelcards.signoff={published.signoff}, "
            f"modelcards.card_sha256={published.sha256[:12]}..."
        )
    from ._notify import notify_card

    notify_card(result, published=published)  # MODELCARDS_NOTIFY; never fails the command
    if published is not None and published.signoff != "approved":
        # A newly published card is what reviewers sign off: ask them.
        from ._notify import notify_signoff_requested

        notify_signoff_requested(
            model=published.name,
            version=published.version,
            requested_by=_who(),
            note=f"Its sign-off is {published.signoff}; the gate is {published.gate}. "
            f"See: modelcards review models:/{published.name}/{published.version}",
        )
    sys.exit(result.exit_code)


def _who() -> str:
    """The account running the command, for "who asked"; never fails."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name and no passwd entry (some containers)
        return "modelcards card --publish"


def _release_summary(
    result: CardResult,
    registry: Registry | None,
    model: str | None,
    *,
    allow_pickle: bool,
    trusted_types: tuple[str, ...],
) -> ReleaseSummary:
    """The summary's data: with a registered model, its edge cases and flags too."""
    from ._service import DemoService
    from ._summary import ReleaseSummary

    if registry is None or model is None:  # a card from data: no version to run cases on
        return ReleaseSummary(card=result.card)
    loaded = registry.load(model, allow_pickle=allow_pickle, trusted_types=trusted_types)
    return DemoService(registry).release_summary(loaded, result.card)


class _Progress:
    """Announces a step on stderr once it has run for more than a second, then ticks."""

    def __init__(self) -> None:
        import threading

        self.start = time.perf_counter()
        self.current: tuple[str, float] | None = None
        self.announced = False
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.tty = sys.stderr.isatty()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def step(self, message: str) -> None:
        with self.lock:
            self._finish_line()
            self.current = (message, time.perf_counter())
            self.announced = False

    def _finish_line(self) -> None:
        if self.current and self.announced:
            took = time.perf_counter() - self.current[1]
            click.echo(f"{self._cr}... {self.current[0]}: {took:.1f}s", err=True)

    def _watch(self) -> None:
        tty = self.tty
        while not self.stop.wait(0.25):
            with self.lock:
                if self.current is None:
                    continue
                message, since = self.current
                elapsed = time.perf_counter() - since
                if elapsed > 1.0 and (tty or not self.announced):
                    click.echo(f"{self._cr}... {message}: {elapsed:.1f}s", err=True, nl=not tty)
                    self.announced = True

    @property
    def _cr(self) -> str:
        return "\r" if self.tty else ""

    def done(self) -> None:
        self.stop.set()
        self.thread.join()
        with self.lock:
            self._finish_line()
            self.current = None


def _summary(result: CardResult, paths: Mapping[str, Path]) -> None:
    a, p = result.assessment, result.policy
    small = [g for g in a.groups if g.small]
    click.echo(
        f"{result.card.model_details.name}: {a.overall.n:,} rows, {len(a.groups)} groups "
        f"by {', '.join(a.sensitive_features)}"
        + (" and their intersection" if len(a.sensitive_features) > 1 else "")
        + f"; {len(small)} small (n < {a.min_group_size})."
    )
    colors: dict[str, str | None] = {
        "pass": "green",
        "fail": "red",
        "inconclusive": "yellow",
        "none": None,
    }
    click.echo("Policy: " + click.style(p.verdict.upper(), fg=colors[p.verdict], bold=True))
    for c in p.checks:
        click.echo(f"  {c.verdict:<13} {c.check}  ({c.reason})")
    if result.card.completeness.missing:
        click.echo(f"Not provided: {', '.join(result.card.completeness.missing)}")
    for path in paths.values():
        click.echo(f"wrote {path}")


@main.command()
def schema() -> None:
    """Print the JSON Schema of model_card.json."""
    from ._card import SCHEMA_PATH

    click.echo(SCHEMA_PATH.read_text(), nl=False)


@main.command()
@click.option(
    "--host",
    default="localhost",
    show_default=True,
    help="Address to listen on; 0.0.0.0 shares the demo on the network.",
)
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    help="Port (default 8501 for Streamlit, 7860 for Gradio).",
)
@click.option(
    "--ui", type=click.Choice(["streamlit", "gradio"]), default="streamlit", show_default=True
)
@click.option(
    "--model",
    "model",
    metavar="models:/NAME@ALIAS",
    help="The model the Gradio app serves (default models:/arrests-release@champion).",
)
def demo(
    host: str, port: int | None, ui: Literal["streamlit", "gradio"], model: str | None
) -> None:
    """Serve the stakeholder demo (Streamlit), or the Gradio app and its API.

    MODELCARDS_DEMO_PASSWORD, when set, protects either app with a password.
    """
    if ui == "gradio":
        _gradio(host, port or 7860, model)
        return
    if model is not None:
        raise ModelcardsError(
            "--model applies to --ui gradio; the Streamlit demo lets people pick the model.",
            hint="Drop --model, or add --ui gradio.",
        )
    port = port or 8501
    from ._predict import MAX_UPLOAD_MB

    # apps/serve.py wraps apps/demo.py in the guard that keeps everything behind the password.
    app = Path(__file__).resolve().parent.parent / "apps" / "serve.py"
    if not app.exists():
        import importlib.util

        spec = importlib.util.find_spec("apps.serve")
        if spec is None or spec.origin is None:
            raise ModelcardsError(
                "The demo app (apps/serve.py) is not installed.",
                hint="Install the project with `make demo`.",
            )
        app = Path(spec.origin)
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(app),
        "--server.address", host,
        "--server.port", str(port),
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
        "--client.showErrorDetails", "none",
        "--client.toolbarMode", "viewer",
        "--server.enableXsrfProtection", "true",
        # Bigger uploads are refused while they stream in, before they fill memory.
        "--server.maxUploadSize", str(MAX_UPLOAD_MB),
        # A full gc.collect(2) after every rerun cost ~94% of a Try it rerun's server CPU.
        "--runner.postScriptGC", "false",
        # Watching the sources re-reads every imported module's path after each rerun
        # (about 5 ms of a Try it rerun's server CPU); a served demo's code does not change.
        "--server.fileWatcherType", "none",
    ]  # fmt: skip
    click.echo(f"Serving the demo on http://{host}:{port}", err=True)
    os.execv(sys.executable, cmd)


def _gradio(host: str, port: int, model: str | None) -> None:
    # A process of its own, as for Streamlit: the library never imports a UI framework.
    if model is not None:
        from ._registry import ModelRef

        ModelRef.parse(model)  # a clear error before anything starts
        os.environ["MODELCARDS_GRADIO_MODEL"] = model
    # The app announces serving itself, once the model has loaded: a dead registry gives
    # its message and exit code 2, never a "Serving" line first.
    cmd = [sys.executable, "-m", "apps.gradio_app", "--host", host, "--port", str(port)]
    os.execv(sys.executable, cmd)


# -- the release review: reviewers, findings, decisions, sign-off, promotion -------------
def _password(name: str, from_stdin: bool) -> str:
    """A reviewer's password: the first line of stdin, or a hidden prompt."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt(f"Password for reviewer {name}", hide_input=True))


def _review_book() -> Any:
    from ._review import ReviewBook
    from ._store import Store

    return ReviewBook(Store())


_password_stdin = click.option(
    "--password-stdin", is_flag=True, help="Read the reviewer's password from stdin (scripts)."
)
_card_option = click.option(
    "--card",
    "card_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The version's model_card.json. Default: its published card, else one generated "
    "from its stored evaluation split and policy.",
)


@main.group(cls=_Group)
def reviewers() -> None:
    """Named reviewers: only they can decide on findings and sign off."""


@reviewers.command("add")
@click.argument("name")
@_password_stdin
@click.option(
    "--sso", is_flag=True, help="No password: NAME is the e-mail the demo's single sign-on gives."
)
def reviewers_add(name: str, password_stdin: bool, sso: bool) -> None:
    """Add reviewer NAME; asks for the password twice (hidden)."""
    book = _review_book()
    password: str | None = None
    if not sso:
        if password_stdin:
            password = _password(name, True)
        else:
            password = str(
                click.prompt(
                    f"Password for reviewer {name}", hide_input=True, confirmation_prompt=True
                )
            )
    book.add_reviewer(name, password=password)
    click.echo(f"added reviewer {name.strip()}" + (" (single sign-on)" if sso else ""))


@reviewers.command("list")
def reviewers_list() -> None:
    """List the reviewers' names."""
    names = _review_book().reviewer_names()
    click.echo("\n".join(names) if names else "No reviewers yet: `modelcards reviewers add NAME`.")


@main.command()
@click.argument("ref", metavar="models:/NAME/VERSION")
@_card_option
def review(ref: str, card_path: Path | None) -> None:
    """List a version's findings, the decisions on them and the sign-off."""
    from ._review import card_for_review, format_review

    book = _review_book()
    card = card_for_review(_registry(), ref, card=card_path)
    click.echo(format_review(book.state(card)))


@main.command()
@click.argument("ref", metavar="models:/NAME/VERSION")
@click.argument("finding")
@click.option(
    "--decision",
    type=click.Choice(["accept", "block", "accept_with_mitigation"]),
    required=True,
)
@click.option("--reason", required=True, help="Why (for a mitigation: what mitigates it).")
@click.option("--reviewer", "reviewer_name", required=True, metavar="NAME")
@_password_stdin
@_card_option
def decide(
    ref: str,
    finding: str,
    decision: Literal["accept", "block", "accept_with_mitigation"],
    reason: str,
    reviewer_name: str,
    password_stdin: bool,
    card_path: Path | None,
) -> None:
    """Record a reviewer's decision on one FINDING of a version (see `review`)."""
    from ._review import card_for_review

    book = _review_book()
    reviewer = book.authenticate(reviewer_name, _password(reviewer_name, password_stdin))
    state = book.state(card_for_review(_registry(), ref, card=card_path))
    book.decide(
        state, finding=finding, decision=decision, reason=reason, reviewer=reviewer, app="cli"
    )
    click.echo(f"{finding}: {decision.replace('_', ' ')} by {reviewer.name}")


@main.command()
@click.argument("ref", metavar="models:/NAME/VERSION")
@click.option("--decision", type=click.Choice(["approve", "reject"]), required=True)
@click.option("--reviewer", "reviewer_name", required=True, metavar="NAME")
@click.option("--note", required=True, help="The summary of the review.")
@_password_stdin
@_card_option
def signoff(
    ref: str,
    decision: Literal["approve", "reject"],
    reviewer_name: str,
    note: str,
    password_stdin: bool,
    card_path: Path | None,
) -> None:
    """Sign a version off (approve or reject), bound to its card, data and policy."""
    from ._review import card_for_review

    book = _review_book()
    reviewer = book.authenticate(reviewer_name, _password(reviewer_name, password_stdin))
    card = card_for_review(_registry(), ref, card=card_path)
    state = book.state(card)
    book.sign_off(state, decision=decision, summary=note, reviewer=reviewer, app="cli")
    b = state.binding
    click.echo(
        f"{b.model} v{b.version}: {decision}d by {reviewer.name} (card {b.card_sha256[:12]}, "
        f"data {b.data_sha256[:12]}, policy {b.policy_sha256[:12]})"
    )
    from ._review import after_signoff

    after_signoff(_registry(), book, card)  # the signoff tag, and the team told


@main.command()
@click.argument("ref", metavar="models:/NAME/VERSION")
@click.option("--alias", required=True, help="The alias to move, e.g. champion.")
@click.option("--force", is_flag=True, help="Move it past the gate (needs --reason, --reviewer).")
@click.option("--reason", help="Why the gate is overridden (with --force).")
@click.option("--reviewer", "reviewer_name", metavar="NAME", help="Who overrides (with --force).")
@_password_stdin
def promote(
    ref: str,
    alias: str,
    force: bool,
    reason: str | None,
    reviewer_name: str | None,
    password_stdin: bool,
) -> None:
    """Move ALIAS to a version whose published card passed the gate and whose sign-off
    approves it.

    \b
    Exit codes: 0 moved, 1 refused (what is missing is listed), 2 bad input.
    """
    from ._notify import notify_alias_promoted
    from ._promote import Promotion
    from ._promote import promote as move

    if force and (not reason or not reviewer_name):
        raise ModelcardsError(
            "--force needs --reason TEXT and --reviewer NAME: an override says who and why.",
            hint="For example --force --reason 'hotfix for incident 123' --reviewer ada.",
        )
    if not force and (reason or reviewer_name):
        raise ModelcardsError(
            "--reason and --reviewer go with --force.", hint="Add --force, or drop them."
        )
    book = _review_book()
    reviewer = (
        book.authenticate(reviewer_name, _password(reviewer_name, password_stdin))
        if force and reviewer_name
        else None
    )
    done = move(_registry(), book, ref, alias=alias, force=force, reason=reason, reviewer=reviewer)
    if not isinstance(done, Promotion):
        click.echo(
            f"Not promoted: models:/{done.model}/{done.version} cannot take @{alias.lstrip('@')} "
            "yet. Missing:",
            err=True,
        )
        for item in done.missing:
            click.echo(f"  - {item}", err=True)
        click.echo("Or override with --force --reason TEXT --reviewer NAME.", err=True)
        sys.exit(1)
    was = f" (was version {done.previous})" if done.previous is not None else ""
    click.echo(f"@{done.alias} -> models:/{done.model}/{done.version}{was}")
    if done.forced is not None:
        click.echo(
            f"Gate overridden by {done.forced.reviewer}: {done.forced.reason} "
            "(recorded in the version tag modelcards.promotion_override and the next card)"
        )
    notify_alias_promoted(
        model=done.model,
        alias=done.alias,
        version=done.version,
        previous=done.previous,
        by=done.forced.reviewer if done.forced else None,
        forced_reason=done.forced.reason if done.forced else None,
    )


def _attach_review(result: CardResult) -> None:
    """The card's Review section from the store, when there is one (a card never creates
    a store by itself)."""
    from ._review import ReviewBook, attach_review, existing_store

    store = existing_store()
    if store is not None:
        attach_review(result.card, ReviewBook(store))


@main.command()
@click.argument("ref", metavar="REF")
@click.option(
    "--policy",
    type=click.Path(path_type=Path),
    help="Policy YAML whose known_cases says how many cases may fail (default: the stored one).",
)
@click.option("--allow-pickle", is_flag=True, help="Allow loading a pickle model (unsafe).")
@click.option("--trust-type", "trusted_types", multiple=True, metavar="TYPE")
def check(
    ref: str, policy: Path | None, allow_pickle: bool, trusted_types: tuple[str, ...]
) -> None:
    """Run every saved edge case against a version and record the results.

    REF is models:/NAME@ALIAS or models:/NAME/VERSION. The cases are the card spec's and
    those saved in the demo's store (MODELCARDS_DB_URL); each prints PASS, FAIL or NOT
    JUDGED (no expected outcome), failing first.

    \b
    Exit codes: 0 every judged case passed (or no more failed than the policy's
                  known_cases allows),
                1 a case failed,
                2 bad input: a bad REF or policy, an unreachable store, a case that
                  cannot run on the version (nothing is recorded).
    """
    from ._check import check_version, report_lines

    report = check_version(
        ref, policy=policy, allow_pickle=allow_pickle, trusted_types=trusted_types
    )
    for line in report_lines(report):
        click.echo(line)
    sys.exit(report.exit_code)


# -- compare two versions ---------------------------------------------------------------
@main.command()
@click.argument("ref_a", metavar="REF_A")
@click.argument("ref_b", metavar="REF_B")
@click.option(
    "--data",
    type=click.Path(path_type=Path),
    help="Evaluation data, CSV or Parquet. Default: the split stored with REF_B.",
)
@click.option("--target", metavar="COL", help="The true outcome column (default: REF_B's).")
@click.option(
    "--sensitive",
    metavar="COL[,COL...]",
    callback=_columns,
    help="Sensitive columns (default: REF_B's); their intersection is compared too.",
)
@click.option(
    "--policy",
    type=click.Path(path_type=Path),
    help="Release policy YAML, with change(METRIC) checks (default: REF_B's stored policy).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("comparison"),
    show_default=True,
    help="Output folder.",
)
@click.option(
    "--bootstrap",
    "n_boot",
    type=click.IntRange(min=2),
    default=1000,
    show_default=True,
    help="Paired bootstrap resamples for the change's interval.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="The resampling seed.")
@click.option(
    "--confidence",
    type=click.FloatRange(0.5, 1, max_open=True),
    default=0.95,
    show_default=True,
    help="Confidence level of the intervals.",
)
@click.option(
    "--min-group-size",
    type=click.IntRange(min=1),
    default=30,
    show_default=True,
    help="Smaller groups are shown but never gate.",
)
@click.option(
    "--allow-pickle",
    is_flag=True,
    help="Allow pickle models, which run code when loaded. Only for trusted files.",
)
@click.option(
    "--engine",
    type=_ENGINES,
    default="auto",
    show_default=True,
    help="memory: read the data whole. batched: read a CSV/Parquet file in record batches, "
    "both versions predicting batch by batch, memory nearly flat however many rows. auto: "
    "batched for files over 100 MB. spark: predict and count on Apache Spark; --data is "
    "then Parquet/CSV paths or a table in the Spark catalog (needs modelcards[spark]). "
    "Every engine gives the same comparison.",
)
@_batch_rows_option
@_spark_master_option
def compare(
    ref_a: str,
    ref_b: str,
    data: Path | None,
    target: str | None,
    sensitive: list[str] | None,
    policy: Path | None,
    out_dir: Path,
    n_boot: int,
    seed: int,
    confidence: float,
    min_group_size: int,
    allow_pickle: bool,
    engine: Literal["auto", "memory", "batched", "spark"],
    batch_rows: int | None,
    spark_master: str | None,
) -> None:
    """Compare a candidate (REF_B) with the version in use (REF_A), group by group.

    Writes comparison.html, comparison.md and comparison.json: every metric of both
    versions in every group, the change B - A with a paired interval, and the policy's
    verdicts (checks on levels for both versions, change(METRIC) checks on the change).

    \b
    Exit codes: 0 no group is worse beyond its interval on a protected metric
                  (and no change check failed),
                1 otherwise,
                2 bad usage or bad input (nothing is written).
    """
    from ._compare import compare_versions
    from ._compare_render import notable, write_comparison
    from ._metrics import MIRRORS
    from ._pipeline import CardOptions

    options = CardOptions(confidence=confidence, min_group_size=min_group_size)
    bar = _Progress()
    try:
        result = compare_versions(
            ref_a,
            ref_b,
            registry=_registry(),
            data=data,
            target=target,
            sensitive=sensitive,
            policy=policy,
            n_boot=n_boot,
            seed=seed,
            options=options,
            allow_pickle=allow_pickle,
            progress=bar.step,
            engine=engine,
            batch_rows=batch_rows,
            spark_master=spark_master,
        )
        bar.step("writing the comparison")
        paths = write_comparison(result, out_dir)
    finally:
        bar.done()
    click.echo(
        f"A {result.a.uri} vs B {result.b.uri}: {result.rows:,} rows, "
        f"{len({tuple(c.features.items()) for c in result.changes}) - 1} groups by "
        f"{', '.join(result.sensitive_features)}."
    )
    for verdict, color in (("worse", "red"), ("better", "green")):
        found = notable(result, verdict)
        click.echo(click.style(f"{verdict.capitalize()}: {len(found)}", fg=color, bold=True))
        for c in found[:5]:
            who = " & ".join(f"{k}={v}" for k, v in c.features.items()) or "overall"
            # An error rate stands for the rate it mirrors too: the same decisions.
            metric = c.metric + (f" (1 - {MIRRORS[c.metric]})" if c.metric in MIRRORS else "")
            click.echo(
                f"  {who:<28} {metric:<24} {c.change.value:+.3f} "
                f"[{c.change.ci_low:+.3f}, {c.change.ci_high:+.3f}]"
            )
        if len(found) > 5:
            click.echo(f"  ... and {len(found) - 5} more (see comparison.md)")
    for k in result.policy.checks:
        verdicts = f"change {k.change}" if k.change else f"A {k.a}, B {k.b}"
        click.echo(f"  {verdicts:<28} {k.check}")
    gating = result.worse()
    click.echo(
        "Gate: "
        + (
            click.style(f"{len(gating)} protected change(s) worse", fg="red", bold=True)
            if result.exit_code
            else click.style("no protected metric worse", fg="green", bold=True)
        )
    )
    for path in paths.values():
        click.echo(f"wrote {path}")
    sys.exit(result.exit_code)


if __name__ == "__main__":  # python -m modelcards.cli, as the console script runs it
    main(prog_name="modelcards")
