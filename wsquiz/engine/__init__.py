"""Serve an app and observe it: load it as uvicorn would, play a scenario with the real
`websockets` client, and record both sides as a transcript. In-process for trusted content,
sandboxed for code nobody here wrote."""
