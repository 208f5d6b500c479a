"""Recompute the disk/RAM/VRAM needs in resources/catalog.json from each model's architecture.

Run after changing the int4 format or the estimator: python scripts/update_catalog_needs.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.models.catalog import Architecture, estimate_disk_bytes, estimate_ram_bytes  # noqa: E402


def main() -> None:
    path = ROOT / "resources" / "catalog.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    for model in doc["models"]:
        arch = Architecture(**model["architecture"])
        for precision in ("int4", "fp16"):
            ram = estimate_ram_bytes(arch, precision)
            model["needs"][precision] = {"disk_bytes": estimate_disk_bytes(arch, precision), "ram_bytes": ram,
                                         "vram_bytes": ram}
        print(f"{model['id']:32} int4 {model['needs']['int4']['disk_bytes'] / 1e9:6.2f} GB on disk")
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
