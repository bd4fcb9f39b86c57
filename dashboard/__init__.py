"""The Streamlit front end: a frame (app.py), shared state helpers and thin pages that call
into ``core`` and never build SQL themselves."""
