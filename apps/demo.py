"""The stakeholder demo: `streamlit run apps/demo.py` (or `modelcards demo`)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

# A file, not a Material name: Streamlit fetches a Material favicon from the internet,
# and the demo must work with none.
ICON = Path(__file__).resolve().parent / "static" / "favicon.png"

PAGES = [
    ("home", "Model", "model", ":material/info:"),
    ("try_it", "Try it", "try", ":material/play_arrow:"),
    ("what_if", "What if", "what-if", ":material/insights:"),
    ("edge_cases", "Edge cases", "edge-cases", ":material/rule:"),
    ("batch", "Batch", "batch", ":material/table:"),
    ("fairness", "Fairness audit", "fairness", ":material/balance:"),
    ("compare", "Compare", "compare", ":material/compare_arrows:"),
    ("card", "Model card", "card", ":material/description:"),
    ("review", "Review", "review", ":material/fact_check:"),
]


def ref_label(option: str, in_use: str) -> str:
    """How the picker shows an alias or version: aliases by their role."""
    if not option.startswith("@"):
        return f"version {option}"
    return f"{option}, in use" if option[1:] == in_use else f"{option}, candidate"


def model_picker() -> None:
    """The model and the alias or version, in the sidebar and in the URL."""
    from apps import state
    from modelcards import release_alias

    models = state.model_list()
    if not models:
        st.session_state["_model_ref"] = None
        return
    by_name = {m.name: m for m in models}
    names = list(by_name)
    state.sync_param("model", names[0], choices=names)
    if st.session_state["model"] not in by_name:  # removed from the registry meanwhile
        st.session_state["model"] = names[0]
    name = st.sidebar.selectbox("Model", names, key="model")
    chosen = by_name[name]
    in_use = release_alias()
    # The version in use first: a shared link without ?ref= opens on the release alias.
    aliases = sorted(chosen.aliases, key=lambda a: (a != in_use, a))
    options = [f"@{a}" for a in aliases] + [str(v.version) for v in chosen.versions]
    state.sync_param("ref", options[0], choices=options)
    for problem in state.link_problems():  # a link to a model or alias that is gone
        st.sidebar.warning(problem)
    if st.session_state["ref"] not in options:  # another model was chosen
        st.session_state["ref"] = options[0]
    ref = st.sidebar.selectbox(
        "Alias or version",
        options,
        key="ref",
        format_func=lambda o: ref_label(o, in_use),
        help=f"@{in_use} marks the version in use; any other alias marks a candidate. "
        "MODELCARDS_DEFAULT_ALIAS names another release alias.",
    )
    state.write_params(model=name, ref=ref)
    st.session_state["_model_ref"] = (
        f"models:/{name}{ref}" if ref.startswith("@") else f"models:/{name}/{ref}"
    )


def run() -> None:
    """Route to the pages. Kept in a function so tests can import and run it."""
    import importlib

    from apps import state

    st.set_page_config(page_title="modelcards demo", page_icon=str(ICON), layout="wide")
    pages = []
    for module, title, path, icon in PAGES:
        render = importlib.import_module(f"apps.views.{module}").render
        pages.append(
            st.Page(
                state.guarded(render),
                title=title,
                url_path=path,
                icon=icon,
                default=module == "home",
            )
        )
    if not state.password_ok():
        # A hidden menu of the same pages keeps a link's page (and its query) in the
        # address bar, so it opens once the password is given.
        st.navigation(pages, position="hidden")
        return
    nav = st.navigation(pages)
    state.guarded(model_picker)()
    nav.run()


def run_page(module: str) -> None:
    """One page with the sidebar's model picker, without the router (for AppTest)."""
    import importlib

    from apps import state

    if not state.password_ok():
        return
    state.guarded(model_picker)()
    state.guarded(importlib.import_module(f"apps.views.{module}").render)()


if __name__ == "__main__":
    run()
