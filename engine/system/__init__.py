"""The bottom layer: what every other part of the engine stands on and that knows nothing of models or chats.

Paths and settings, secrets, the hardware probe and ONNX Runtime session options, privacy (offline mode, the
network activity log), the log file, locks, SQLite set-up, errors, cancellation and progress events.
"""
