"""The operator's live map: a FastAPI server (JSON, server-sent events) and static assets shipped in the package."""
