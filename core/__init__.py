"""mesdash core: everything that is not Streamlit (settings, schema, database lanes, trace,
reject history, holds, demo data, CLI). Pages call into here and never build SQL."""
