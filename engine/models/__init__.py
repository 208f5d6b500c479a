"""Getting models onto the machine: the catalog, Hub downloads (hub, transfer), checkpoint checks, conversion to
ONNX (convert/), the installed-model store, pull jobs and hardware-fit recommendations. Uses only engine.system."""
