"""The live classroom: its session store, the material it teaches, the room and its
WebSocket app, and hosting it."""
