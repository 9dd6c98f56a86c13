"""wsquiz: learn FastAPI WebSockets by predicting what a real server does."""

__version__ = "0.1.0"
