"""Errors the engine raises: each names the problem and what to do about it."""

from __future__ import annotations


class PonderError(Exception):
    """Base class for errors shown to a person: ``str(err)`` is one line that says what and what to do."""

    def __init__(self, problem: str, hint: str = "") -> None:
        self.problem = problem
        self.hint = hint
        super().__init__(f"{problem} {hint}".strip() if hint else problem)


class Cancelled(PonderError):
    """The person cancelled the operation; nothing half-done was kept."""

    def __init__(self, what: str = "Operation") -> None:
        super().__init__(f"{what} cancelled.")


class UnsafeNameError(PonderError):
    """A name from outside (a remote file, a model name) would escape its folder or is not allowed."""


class DownloadError(PonderError):
    """The download failed (network, server, or the files did not verify)."""


class VerificationError(DownloadError):
    """A downloaded file did not match the size or hash the Hub reported; it was deleted."""


class DiskSpaceError(PonderError):
    """Not enough free disk space to finish the operation."""


class CatalogError(PonderError):
    """A model name is not in the catalog, or the catalog data is invalid."""


class ConversionError(PonderError):
    """A checkpoint could not be converted to ONNX."""


class StoreError(PonderError):
    """The model store refused an operation (missing model, name taken, ...)."""
