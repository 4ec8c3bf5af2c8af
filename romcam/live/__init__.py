"""The live path (issue 5, docs/live.md): a capture worker (``capture``), the pure session state
machine (``coach``), the WebSocket events (``events``), annotated MJPEG frames (``annotate``) and
the incremental recorder that loses nothing (``recorder``)."""
