"""Edge cases: the named cases of the card spec and those saved from Try it, run at once."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from apps import state
from components.predictions import flag_form
from modelcards._predict import coerce_row, predict_row
from modelcards._store import spec_edge_cases
from modelcards.errors import DataError


def render() -> None:
    model = state.page("Edge cases")
    if model is None:
        return
    cases = spec_edge_cases(model.card_spec) + state.store().edge_cases(model.name)
    if not cases:
        st.info("No edge cases yet: save one from Try it.")
        return
    st.caption(f"{len(cases)} case(s): from the card spec and saved by stakeholders.")
    if st.button("Run all", type="primary", key="run_all") or st.session_state.get("_ran"):
        st.session_state["_ran"] = True
        rows = []
        for case in cases:
            try:
                got = predict_row(model, coerce_row(model, case.inputs))
                actual = got.label
                prob = got.positive_probability
            except DataError as exc:
                actual, prob = f"cannot run: {exc.message}", None
            rows.append(
                {
                    "case": case.name,
                    "expected": case.expected or "",
                    "actual": actual,
                    f"P({model.positive_label})": "" if prob is None else f"{prob:.3f}",
                    "as expected": ""
                    if not case.expected
                    else ("yes" if case.expected == actual else "NO"),
                    "source": case.source,
                    "note": case.note or "",
                }
            )
        table = pd.DataFrame(rows)
        passed = (table["as expected"] == "yes").sum()
        judged = (table["as expected"] != "").sum()
        st.metric("As expected", f"{passed} of {judged}")
        st.dataframe(table, hide_index=True, key="edge_table")
        st.subheader("Flag an answer as wrong")
        pick = st.selectbox("Case", [c.name for c in cases], key="flag_case")
        comment = flag_form(key="flag_edge")
        if comment is not None:
            case = next(c for c in cases if c.name == pick)
            answer = table.loc[table["case"] == pick, "actual"].iloc[0]
            state.store().add_flag(
                model=model.name,
                version=model.version,
                inputs=case.inputs,
                prediction=answer,
                comment=comment,
                app="streamlit",
            )
            st.success(f"Flagged the answer to {pick!r}.")
    flags = state.store().flags(model.name)
    if flags:
        st.subheader("Flags so far")
        st.dataframe(
            pd.DataFrame(flags)[["created", "version", "prediction", "comment", "app"]],
            hide_index=True,
        )
