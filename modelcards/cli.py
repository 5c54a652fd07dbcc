"""The ``modelcards`` command line.

Every domain error prints its cause and a hint and exits 2 with no traceback. Heavy
libraries are imported inside the command that needs them, so ``--help`` is instant.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click

from .errors import ModelcardsError

EXIT_USAGE = 2


class _Group(click.Group):
    """Turns a ModelcardsError anywhere below into a clean message and exit code 2."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except ModelcardsError as exc:
            click.secho(f"Error: {exc.message}", fg="red", err=True)
            if exc.hint:
                click.echo(f"Hint: {exc.hint}", err=True)
            ctx.exit(EXIT_USAGE)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="modelcards")
def main():
    """Model Cards, fairness audits and stakeholder demos for models in an MLflow registry.

    The registry is the SQLite store in ./.modelcards (MODELCARDS_HOME moves it), or the
    store or server named by MLFLOW_TRACKING_URI.
    """


def _registry():
    from ._registry import Registry

    return Registry()


@main.command()
def models():
    """List registered models, their versions and aliases."""
    reg = _registry()
    found = reg.list_models()
    if not found:
        click.echo(f"No registered models in {reg.tracking_uri}.")
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
    click.echo(f"\nRegistry: {reg.tracking_uri}")


@main.command()
@click.option(
    "--if-empty", is_flag=True, help="Do nothing when the registry already holds any model."
)
def examples(if_empty):
    """Train and register the example models (idempotent).

    Two versions of `arrests-release`, trained on the Toronto arrests data that
    scikit-lego ships: a logistic regression (@champion) and gradient-boosted trees
    (@challenger).
    """
    from ._examples import register_examples

    reg = _registry()
    if if_empty and not reg.is_empty():
        click.echo(f"The registry at {reg.tracking_uri} already has models; nothing to do.")
        return
    start = time.perf_counter()
    done = register_examples(reg, progress=lambda msg: click.echo(f"... {msg}", err=True))
    if not done:
        click.echo("The example models are already registered; nothing to do.")
        return
    for ref in done:
        click.echo(f"registered {ref}")
    click.echo(f"in {time.perf_counter() - start:.1f}s, registry: {reg.tracking_uri}")


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
def synth(rows, out, seed):
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


@main.command()
@click.option(
    "--host",
    default="localhost",
    show_default=True,
    help="Address to listen on; 0.0.0.0 shares the demo on the network.",
)
@click.option("--port", type=click.IntRange(1, 65535), default=8501, show_default=True)
@click.option("--ui", type=click.Choice(["streamlit"]), default="streamlit", show_default=True)
def demo(host, port, ui):
    """Serve the stakeholder demo (Streamlit)."""
    app = Path(__file__).resolve().parent.parent / "apps" / "demo.py"
    if not app.exists():
        import importlib.util

        spec = importlib.util.find_spec("apps.demo")
        if spec is None or spec.origin is None:
            raise ModelcardsError(
                "The demo app (apps/demo.py) is not installed.",
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
    ]  # fmt: skip
    click.echo(f"Serving the demo on http://{host}:{port}", err=True)
    os.execv(sys.executable, cmd)
