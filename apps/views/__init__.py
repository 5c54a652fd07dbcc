"""One module per page; each exposes `render()`.

Not named `pages/`: Streamlit would take a `pages/` folder beside the entry point for an
old-style multipage app until `st.navigation` first runs, and 404 deep links."""
