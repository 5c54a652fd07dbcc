"""The apps: the Streamlit multipage demo (apps/demo.py). State, caching and routing live here."""
