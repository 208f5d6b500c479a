"""Ponder talking to other programs: the local OpenAI-compatible API server (api/) and the client for remote
engines (remote.py). Built on chat, documents and the runtime; only the CLI and the desktop stand above it."""
