"""The Gradio app: one quick form and a prediction API for a registered model.

`demo` is built when this module is imported, for the model that
``MODELCARDS_GRADIO_MODEL`` names (default ``models:/arrests-release@champion``), without
launching; `modelcards demo --ui gradio` launches it. Endpoints for programs:

* ``/predict``: the model's inputs by name; returns label, probabilities, resolved version
  (for a regression, ``value``: the predicted number, and no probabilities);
* ``/flag``: the same inputs plus a comment; stores the flag with the Streamlit demo's;
* ``/explain``: the model's inputs by name; returns why: the baseline, the prediction and
  each input's contribution (they add up), the output space and the method.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from typing import Any, Literal

import gradio as gr

from components.gradio_inputs import gradio_input
from modelcards import (
    INTEGER_TYPES,
    MAX_COMMENT_CHARS,
    MAX_UPLOAD_MB,
    NUMERIC_TYPES,
    DemoService,
    LoadedModel,
    Registry,
    Store,
    check_password,
    column_profile,
    data_dictionary,
    explanation_figure,
    input_bounds,
    input_default,
    markdown_text,
    password_required,
)
from modelcards.errors import ModelcardsError, StoreError, UnsupportedTaskError

DEFAULT_MODEL = "models:/arrests-release@champion"
APP = "gradio"


def _named(
    fn: Callable[..., dict[str, Any]], model: LoadedModel, extra: tuple[str, ...] = ()
) -> Callable[..., dict[str, Any]]:
    """Give ``fn(*values)`` a signature with one typed parameter per model input (and
    ``extra`` text parameters), so the API documents and takes the inputs by name. Each
    input's default is the Try it form's starting value (the training median or most
    frequent level), so the API's own example is a call that works; a category's allowed
    levels become its type (``Literal``)."""
    dictionary = data_dictionary(model)
    params = []
    for col in model.inputs:
        profile, entry = column_profile(model, col.name), dictionary.entry(col.name)
        kind: Any = (
            int if col.type in INTEGER_TYPES else float if col.type in NUMERIC_TYPES else str
        )
        levels = entry.levels if entry is not None and entry.levels else None
        if levels is None and kind is str and profile is not None and profile.levels:
            levels = list(profile.levels)
        if levels:
            kind = Literal[tuple(levels)]
        params.append(
            inspect.Parameter(
                col.name,
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                annotation=kind,
                default=input_default(col, profile),
            )
        )
    params += [
        inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=str, default="")
        for n in extra
    ]
    fn.__signature__ = inspect.Signature(params, return_annotation=dict)
    fn.__annotations__ = {p.name: p.annotation for p in params} | {"return": dict}
    return fn


def _describe_inputs(demo: gr.Blocks, model: LoadedModel, api_name: str) -> None:
    """Put each input's meaning (the data dictionary's, else its type and training range)
    into the API's own description of the endpoint's parameters."""
    dictionary = data_dictionary(model)
    texts = []
    for col in model.inputs:
        entry, profile = dictionary.entry(col.name), column_profile(model, col.name)
        parts = [entry.description.rstrip(".")] if entry is not None and entry.description else []
        if entry is not None and entry.unit:
            parts.append(f"in {entry.unit}")
        b = input_bounds(col, profile, entry) if col.type in NUMERIC_TYPES else None
        if b is not None and b.low is not None and b.high is not None:
            parts.append(f"allowed {b.low:g} to {b.high:g}")
        texts.append("; ".join(parts) or col.name)
    texts.append("what is wrong with the answer (required)")
    texts.append(
        "the answer expected (optional): one of the classes, or a regression's range such "
        "as 120..180"
    )
    (dep,) = [d for d in demo.fns.values() if d.api_name == api_name]
    for comp, text in zip(dep.inputs, texts, strict=False):
        comp._api_info = {**comp._api_info, "description": text}


def _predict(svc: DemoService, model: LoadedModel, values: dict[str, Any]) -> dict[str, Any]:
    try:
        p = svc.predict(model, values)
    except ModelcardsError as exc:
        raise gr.Error(exc.message, print_exception=False) from None
    number = {"value": p.value} if model.task == "regression" else {}
    return {
        "label": p.label,
        "meaning": data_dictionary(model).class_phrase(p.label),
        **number,
        "probabilities": p.probabilities,
        # What the model warned about while predicting, in plain words (often empty).
        "warnings": p.warnings,
        "model": model.name,
        "version": model.version,
        "alias": model.alias,
        "reference": model.uri,
    }


def _explain(svc: DemoService, model: LoadedModel, values: dict[str, Any]) -> dict[str, Any]:
    try:
        e = svc.explain(model, values)
    except ModelcardsError as exc:
        raise gr.Error(exc.message, print_exception=False) from None
    return {**e.to_dict(), "sentence": e.sentence(), "reference": model.uri}


def _check_names(model: LoadedModel, given: dict[str, Any]) -> None:
    unknown = sorted(set(given) - set(model.feature_names))
    missing = [n for n in model.feature_names if given.get(n) is None]
    if unknown or missing:
        parts = []
        if missing:
            parts.append(f"missing input(s): {', '.join(missing)}")
        if unknown:
            parts.append(f"unknown input(s): {', '.join(unknown)}")
        raise gr.Error(
            "; ".join(parts) + ". Inputs: " + ", ".join(model.feature_names) + ".",
            print_exception=False,
        )


class _Blocks(gr.Blocks):
    """Blocks whose API endpoints refuse, in words, a call with too few or too many
    values. Gradio's own check raises a ValueError that a caller of the raw HTTP API
    receives as ``{"error": null}`` (``show_error`` is off, so that no internal text
    leaks), and it drops extra values without a word."""

    #: Each endpoint's parameters in order, by API name; set by ``build``.
    api_params: dict[str, list[str]]

    def validate_inputs(self, block_fn: Any, inputs: list[Any]) -> None:
        params = getattr(self, "api_params", {}).get(block_fn.api_name)
        if params is not None and len(inputs) != len(params):
            raise gr.Error(
                _count_message(block_fn.api_name, params, len(inputs)), print_exception=False
            )
        super().validate_inputs(block_fn, inputs)


def _count_message(api_name: str, params: list[str], given: int) -> str:
    """What a call with the wrong number of values is told: the values expected, in
    order, how many came, and which are missing (or how many too many).

    Args:
        api_name: The endpoint (``"predict"``).
        params: Its parameters, in order.
        given: How many values the call had.
    """
    said = f"{given} {'was' if given == 1 else 'were'} given"
    if given < len(params):
        said += f"; missing: {', '.join(params[given:])}"
    else:
        said += f", {given - len(params)} too many"
    return f"/{api_name} takes {len(params)} values, in this order: {', '.join(params)}; {said}."


def build(
    ref: str | None = None, *, registry: Registry | None = None, store: Store | None = None
) -> gr.Blocks:
    """The Gradio Blocks app for one registered model (not launched)."""
    ref = ref or os.environ.get("MODELCARDS_GRADIO_MODEL", DEFAULT_MODEL)
    svc = DemoService(registry or Registry(), store)
    model = svc.load(ref)
    names = model.feature_names

    def predict_api(*values: Any) -> dict[str, Any]:
        inputs = dict(zip(names, values, strict=False))
        _check_names(model, inputs)
        return _predict(svc, model, inputs)

    def explain_api(*values: Any) -> dict[str, Any]:
        inputs = dict(zip(names, values, strict=False))
        _check_names(model, inputs)
        return _explain(svc, model, inputs)

    def flag_api(*values: Any, kept: str = "Try again in a moment.") -> dict[str, Any]:
        *given, comment, expected = values
        inputs = dict(zip(names, given, strict=False))
        _check_names(model, inputs)
        result = _predict(svc, model, inputs)
        try:
            flag_id = svc.flag(
                model,
                inputs,
                comment=comment or "",
                app=APP,
                prediction=result["label"],
                expected=str(expected or "").strip() or None,
            )
        except StoreError as exc:  # busy or unavailable: nothing was saved
            raise gr.Error(f"{exc.message} {kept}", print_exception=False) from None
        except ModelcardsError as exc:
            raise gr.Error(exc.message, print_exception=False) from None
        return {"flag": flag_id, **result}

    def ui_predict(*values: Any) -> tuple[Any, str, Any, str]:
        given = dict(zip(names, values, strict=True))
        result = _predict(svc, model, given)
        for warning in result["warnings"]:
            gr.Warning(warning)
        if not result["probabilities"]:
            return result["label"], _version_text(model), None, ""
        try:
            why = svc.explain(model, given)
        except UnsupportedTaskError as exc:  # e.g. more classes than two: say so
            return result["probabilities"], _version_text(model), None, markdown_text(exc.message)
        return (
            result["probabilities"],
            _version_text(model),
            explanation_figure(why),
            f"**Why this prediction.** {markdown_text(why.sentence())}",
        )

    def ui_flag(*values: Any) -> tuple[Any, str]:
        *inputs, comment, expected = values
        # On an error the textbox is not updated: the comment stays for another try.
        flag_api(*inputs, comment, expected, kept="Your comment is kept; try again.")
        return gr.update(value=""), "Thank you: the prediction is flagged for the team."

    cases = svc.edge_cases(model)
    with _Blocks(title=f"{model.name}: try the model") as demo:
        gr.Markdown(f"## {model.name}\n{model.model_description}")
        version = gr.Markdown(_version_text(model))
        with gr.Row():
            with gr.Column():
                dictionary = data_dictionary(model)
                inputs = [
                    gradio_input(c, column_profile(model, c.name), dictionary.entry(c.name))
                    for c in model.inputs
                ]
                go = gr.Button("Predict", variant="primary")
            with gr.Column():
                label = gr.Label(label="Prediction", num_top_classes=len(model.classes) or 2)
                why_text = gr.Markdown()
                why_plot = gr.Plot(label="Why this prediction")
                gr.Markdown(
                    "Each bar is how much that input moved the probability away from the "
                    "average answer of people in the evaluation data; the bars add up to "
                    "this answer (exact Shapley values)."
                )
                comment = gr.Textbox(
                    label="Is this answer wrong? Say why", lines=2, max_length=MAX_COMMENT_CHARS
                )
                expected = (
                    gr.Dropdown(
                        ["", *[str(c) for c in model.classes]],
                        value="",
                        label="What answer did you expect? (optional)",
                    )
                    if model.classes
                    else gr.Textbox(label="What did you expect? (optional: a range, e.g. 120..180)")
                )
                flag = gr.Button("Flag as wrong")
                thanks = gr.Markdown()
        usable = [c for c in cases if set(names) <= set(c.inputs)]
        if usable:
            gr.Examples(
                examples=[[c.inputs[n] for n in names] for c in usable],
                inputs=inputs,
                outputs=[label, version, why_plot, why_text],
                fn=ui_predict,
                example_labels=[c.name for c in usable],
                label="Edge cases",
                run_on_click=True,
                cache_examples=False,
            )
        # Predictions read a shared, unchanging model: any number run at once (Gradio's
        # default is one at a time, which held 20 callers to about 10 calls a second).
        go.click(
            ui_predict,
            inputs=inputs,
            outputs=[label, version, why_plot, why_text],
            api_visibility="private",
            concurrency_limit=None,
        )
        flag.click(
            ui_flag,
            inputs=[*inputs, comment, expected],
            outputs=[comment, thanks],
            api_visibility="private",
        )
        gr.api(
            _named(predict_api, model),
            api_name="predict",
            api_description="Predict from the model's inputs, given by name.",
            concurrency_limit=None,
        )
        gr.api(
            _named(explain_api, model),
            api_name="explain",
            api_description="Why the model answers what it does for these inputs: each "
            "input's contribution from the baseline (they add up to the prediction).",
        )
        gr.api(
            _named(flag_api, model, ("comment", "expected")),
            api_name="flag",
            api_description="Flag the prediction for these inputs as wrong, with a comment "
            "and, optionally, the answer expected.",
        )
    for name in ("predict", "explain", "flag"):
        _describe_inputs(demo, model, name)
    demo.api_params = {
        "predict": list(names),
        "explain": list(names),
        "flag": [*names, "comment", "expected"],
    }
    demo.model = model  # what it serves, for callers and tests
    demo.edge_cases = usable
    return demo


def _version_text(model: LoadedModel) -> str:
    via = f" (reached through `@{model.alias}`)" if model.alias else ""
    return f"Model `{model.uri}`{via}"


def password_auth() -> Callable[[str, str], bool] | None:
    """MODELCARDS_DEMO_PASSWORD protects the app, whatever user name is given."""
    if not password_required():
        return None
    return lambda _user, password: check_password(password)


def launch(app: gr.Blocks, *, host: str = "127.0.0.1", port: int = 7860, **kwargs: Any) -> Any:
    """Serve ``app`` behind the password (when one is set): before login only the login
    page shows, without the API's schemas or the model's name, and wrong passwords are
    slowed down per address (apps/gate.py).

    Args:
        app: The Blocks to serve (``build()``).
        host: Address to listen on.
        port: Port to listen on.
        **kwargs: More ``Blocks.launch`` options (``prevent_thread_lock``, ``quiet``).
    """
    from starlette.middleware import Middleware

    from apps.gate import GradioGate

    return app.launch(
        server_name=host,
        server_port=port,
        auth=password_auth(),
        auth_message="This demo is protected: any user name, the shared password.",
        # Our own messages (gr.Error) still reach callers; internal exception text never.
        show_error=False,
        max_file_size=f"{MAX_UPLOAD_MB}mb",
        app_kwargs={"middleware": [Middleware(GradioGate)], "openapi_url": None},
        **kwargs,
    )


def _main() -> None:
    import argparse
    import sys

    parser = argparse.ArgumentParser(description="Serve the Gradio app.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7860)
    args = parser.parse_args()
    if isinstance(demo, ModelcardsError):
        print(f"Error: {demo.message}", file=sys.stderr)
        if demo.hint:
            print(f"Hint: {demo.hint}", file=sys.stderr)
        sys.exit(2)
    print(
        f"Serving {demo.model.uri} on http://{args.host}:{args.port} "
        "(API: /predict, /explain, /flag)",
        file=sys.stderr,
    )
    launch(demo, host=args.host, port=args.port, quiet=True)


if __name__ == "__main__":
    # Run as a program, a model that cannot be loaded is a message and exit code 2.
    try:
        demo = build()
    except ModelcardsError as exc:
        demo = exc
    _main()
else:
    demo = build()
