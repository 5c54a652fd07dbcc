"""Edge cases: the named cases of the card spec and those saved from Try it, run at once.

Each case's last recorded result for the selected version is shown until "Run all" runs
them again (and records the runs, as ``modelcards check`` does). Stakeholders' flags are
listed below, and one that says which answer was expected can be turned into an edge case.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from apps import state
from components.predictions import expected_answer, expected_field, flag_form
from modelcards import CaseRun, EdgeCaseOutcome, EdgeCaseRecord, LoadedModel
from modelcards.errors import StoreError


def outcome_rows(outcomes: list[EdgeCaseOutcome], positive: str) -> pd.DataFrame:
    """One row per case: expected against actual, and whether they agree."""
    rows = []
    for o in outcomes:
        rows.append(
            {
                "case": o.case.name,
                "expected": o.case.expected or "",
                "actual": o.actual if o.actual is not None else f"cannot run: {o.problem}",
                f"P({positive})": "" if o.probability is None else f"{o.probability:.3f}",
                "as expected": {None: "", True: "yes", False: "NO"}[o.as_expected],
                "source": o.case.source,
                "note": o.case.note or "",
            }
        )
    return pd.DataFrame(rows)


def last_run_rows(cases: list[EdgeCaseRecord], runs: list[CaseRun]) -> pd.DataFrame:
    """One row per case that ran against the version: its most recent recorded run,
    failing cases first."""
    by_key = {(r.case_id, r.case_name if r.case_id is None else ""): r for r in runs}
    rows = []
    for case in cases:
        run = by_key.get((case.id, case.name if case.id is None else ""))
        if run is None:
            continue
        rows.append(
            {
                "case": case.name,
                "result": run.result.upper() if run.result in ("pass", "fail") else run.result,
                "expected": run.expected or "",
                "predicted": run.predicted or "",
                "ran": run.created.strftime("%Y-%m-%d %H:%M"),
                "source": case.source,
            }
        )
    if not rows:
        return pd.DataFrame()
    order = {"FAIL": 0, "PASS": 1}
    return pd.DataFrame(rows).sort_values(
        "result", key=lambda s: s.map(lambda v: order.get(v, 2)), kind="stable"
    )


def may_turn_flags_into_cases() -> bool:
    """Who may turn a stakeholder's flag into an edge case: for now anyone past the
    demo's password (``state.password_ok`` runs before any page). The reviewer role
    replaces this check when it lands."""
    return True


def render() -> None:
    model = state.page("Edge cases")
    if model is None:
        return
    svc = state.service()
    cases = svc.edge_cases(model)
    if not cases:
        st.info("No edge cases yet: save one from Try it.")
    else:
        _cases_part(model, cases)
    _flags_part(model)


def _cases_part(model: LoadedModel, cases: list[EdgeCaseRecord]) -> None:
    svc = state.service()
    st.caption(f"{len(cases)} case(s): from the card spec and saved by stakeholders.")
    ran = state.vkey(model, "ran")  # "Run all" was pressed for this version
    clicked = st.button("Run all", type="primary", key="run_all")
    if not (clicked or st.session_state.get(ran)):
        runs = svc.store.last_runs(model=model.name, version=model.version)
        table = last_run_rows(cases, runs)
        if table.empty:
            st.info(f"Not run against version {model.version} yet: Run all runs every case.")
        else:
            failing = int((table["result"] == "FAIL").sum())
            st.subheader(f"Last results for version {model.version}")
            st.caption(f"{failing} of {len(table)} failing; Run all runs them again.")
            st.dataframe(table, hide_index=True, key="last_runs")
        return
    st.session_state[ran] = True
    outcomes = svc.run_edge_cases(model)
    if clicked:  # recorded once per press, not on every rerun that shows the results
        try:
            svc.record_outcomes(model, outcomes)
        except StoreError as exc:
            st.warning(state.plain(f"The results are shown but not recorded: {exc.message}"))
    judged = [o for o in outcomes if o.as_expected is not None]
    st.metric("As expected", f"{sum(bool(o.as_expected) for o in judged)} of {len(judged)}")
    st.dataframe(
        outcome_rows(outcomes, str(model.positive_label)), hide_index=True, key="edge_table"
    )
    st.subheader("Flag an answer as wrong")
    pick = st.selectbox("Case", [c.name for c in cases], key=state.vkey(model, "flag_case"))

    def flag() -> str:
        comment = str(st.session_state.get("flag_edge_comment") or "")
        chosen = next(o for o in outcomes if o.case.name == pick)
        answer = chosen.actual if chosen.actual is not None else f"cannot run: {chosen.problem}"
        svc.flag(
            model,
            chosen.case.inputs,
            comment=comment,
            app="streamlit",
            prediction=answer,
            expected=expected_answer(st.session_state.get("flag_edge_expected")),
        )
        return state.plain(f"Flagged the answer to {state.shorten(pick)!r}.")

    # The form never clears itself: a busy store must not cost anyone their comment.
    flag_form(
        key="flag_edge",
        classes=model.classes,
        on_submit=state.on_submit(
            "flag_edge", flag, fields=["flag_edge_comment"], kept="Your comment is kept"
        ),
    )
    state.said("flag_edge")


def _flags_part(model: LoadedModel) -> None:
    svc = state.service()
    flags = svc.store.flags(model.name)
    if not flags:
        return
    st.subheader("Flags so far")
    table = pd.DataFrame(flags)
    table["edge case"] = table["edge_case_id"].map(lambda v: "" if pd.isna(v) else f"#{int(v)}")
    st.dataframe(
        table[
            ["id", "created", "version", "prediction", "expected", "comment", "app", "edge case"]
        ],
        hide_index=True,
        key="flags_table",
    )
    state.said("flag_to_case")  # before the form: the flag just turned may have been the last
    open_flags = [f for f in flags if f["edge_case_id"] is None]
    if not open_flags or not may_turn_flags_into_cases():
        return
    by_id = {int(f["id"]): f for f in open_flags}
    if st.session_state.get("flag_to_case_id") not in by_id:  # it became a case meanwhile
        st.session_state.pop("flag_to_case_id", None)

    def describe(flag_id: int) -> str:
        f = by_id[flag_id]
        expected = f"expected {f['expected']}" if f["expected"] else "no expected answer"
        return state.shorten(f"#{flag_id}: {f['prediction']}, {expected}: {f['comment']}")

    def make_case() -> str:
        flag_id = int(st.session_state["flag_to_case_id"])
        name = str(st.session_state.get("flag_to_case_name") or "")
        expected = expected_answer(st.session_state.get("flag_to_case_expected"))
        case_id = svc.flag_to_edge_case(model, flag_id, name=name, expected=expected)
        return state.plain(f"Flag #{flag_id} is now edge case #{case_id} {state.shorten(name)!r}.")

    with st.form("flag_to_case", clear_on_submit=False):
        st.markdown("**Turn a flag into an edge case**")
        st.selectbox("Flag", list(by_id), key="flag_to_case_id", format_func=describe)
        st.text_input("Name of the edge case", key="flag_to_case_name")
        expected_field(
            model.classes,
            key="flag_to_case_expected",
            label="Expected answer (default: the flag's)",
        )
        st.form_submit_button(
            "Make edge case",
            on_click=state.on_submit(
                "flag_to_case",
                make_case,
                fields=["flag_to_case_name"],
                kept="Your text is kept",
            ),
        )
