"""The Streamlit server of `modelcards demo`: apps/demo.py behind apps/gate.py's guard.

`streamlit run apps/serve.py` finds ``app`` and serves it; uploads, metrics and
server-wide messages then pass the guard before they reach Streamlit.
"""

from __future__ import annotations

import streamlit as st
from starlette.middleware import Middleware

from apps.gate import StreamlitGate

app = st.App("demo.py", middleware=[Middleware(StreamlitGate)])
