"""How long each model took to load on this machine the last time (``load_times.json`` in the data folder).

ONNX Runtime creates a session in one blocking call that reports nothing, so a load's progress cannot be measured
while it runs; what can be said honestly is how long the same model (same folder, provider, threads and context)
took here before. The window shows a load as a fraction of that, labelled as an estimate; a model never loaded
here shows only the seconds so far.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from engine.system.paths import ponder_home

log = logging.getLogger(__name__)
FILE_NAME = "load_times.json"
KEEP = 64  # models remembered (the most recently loaded)


class LoadTimes:
    """The last load time of each model, by a key the caller makes (see :meth:`ModelHost._load`)."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path

    @property
    def path(self) -> Path:
        """The record's file (the data folder's, unless given)."""
        return self._path or ponder_home() / FILE_NAME

    def _read(self) -> dict[str, float]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as err:  # a damaged record only costs the estimate
            log.warning("Ignoring the model load times in %s: %s", self.path, err)
            return {}
        if not isinstance(data, dict):
            return {}
        return {str(k): float(v) for k, v in data.items() if isinstance(v, int | float) and v > 0}

    def expected(self, key: str) -> float:
        """Seconds the last load of ``key`` took here; 0.0 when it was never loaded here."""
        return self._read().get(key, 0.0)

    def record(self, key: str, seconds: float) -> None:
        """Remember that loading ``key`` took ``seconds`` (written whole: a crash leaves the old record)."""
        times = self._read()
        times.pop(key, None)
        times[key] = round(seconds, 2)
        kept = dict(list(times.items())[-KEEP:])
        path = self.path
        tmp = path.with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps(kept, indent=1), encoding="utf-8")
            os.replace(tmp, path)
        except OSError as err:
            log.warning("Could not save the model load times to %s: %s", path, err)
