"""mesoclaw: a keyboard-driven terminal app for chatting with LLMs, with a built-in model router."""

__version__ = "0.1.0"
