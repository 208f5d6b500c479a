"""Running converted models on ONNX Runtime."""
