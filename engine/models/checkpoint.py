"""What every Hugging Face checkpoint folder must be before Ponder reads it, for chat models (engine/models/convert) and
embedders (engine/documents/embed.py) alike: a readable config.json that asks for no custom code, safetensors
weights (never pickles) and the fast tokenizer file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine.system.errors import ConversionError

TOKENIZER_FILE = "tokenizer.json"


def read_checkpoint_json(path: Path) -> dict[str, Any]:
    """A checkpoint's JSON file (config.json and the like) as a dict; ConversionError when it cannot be read."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ConversionError(f"{path} cannot be read: {err}.", "Download the checkpoint again.") from err
    if not isinstance(data, dict):
        raise ConversionError(f"{path} is not a JSON object.", "Download the checkpoint again.")
    return data


def read_checkpoint_config(folder: Path) -> dict[str, Any]:
    """The folder's config.json; ConversionError when there is none or it asks to run the model's own code."""
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise ConversionError(f"{folder} is not a Hugging Face checkpoint folder (no config.json).",
                              "Point at the folder that holds config.json and *.safetensors.")
    config = read_checkpoint_json(config_path)
    if "auto_map" in config:
        raise ConversionError(f"{folder.name} needs custom Python code (auto_map in config.json).",
                              "Ponder never runs code from a model; choose a checkpoint of a standard architecture.")
    return config


def check_checkpoint_files(folder: Path) -> None:
    """ConversionError unless the folder has safetensors weights and tokenizer.json (pickles are never loaded)."""
    if not any(folder.glob("*.safetensors")):
        hint = ("It only has PyTorch pickles (.bin), which Ponder does not load; use a repository with "
                "*.safetensors.") if any(folder.glob("*.bin")) else "Download the weights (*.safetensors)."
        raise ConversionError(f"{folder} has no *.safetensors weights.", hint)
    if not (folder / TOKENIZER_FILE).is_file():
        raise ConversionError(f"{folder} has no tokenizer.json.", "Ponder needs the fast tokenizer file.")
