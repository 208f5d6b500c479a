"""Checkpoint → ONNX conversion: export (graph builder), int4 quantization, manifest, and the staged pipeline."""
