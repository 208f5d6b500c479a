"""Ponder's local OpenAI-compatible HTTP API.

Modules: :mod:`engine.serve.api.auth` (Host,
key and body-size checks), :mod:`engine.serve.api.schemas` (request validation, OpenAI error shape),
:mod:`engine.serve.api.models` (one generation at a time per model, in its own thread), :mod:`engine.serve.api.app` (the
Starlette app) and :mod:`engine.serve.api.server` (uvicorn in a background thread or the foreground).

Nothing is imported here, so reading a key does not load the web stack.
"""
