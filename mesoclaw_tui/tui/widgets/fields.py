"""The app's text fields: an Input (Field) or a TextArea (TextField) whose keys are applied in the order
they were typed (see `ordered_keys`). Every Input of the app is a Field; every TextArea a TextField or
the chat's PromptInput."""

from __future__ import annotations

from textual.widgets import Input, TextArea

from .ordered_keys import OrderedKeys


class Field(OrderedKeys, Input):
    """The app's one-line text field."""


class TextField(OrderedKeys, TextArea):
    """The app's text area (several lines) outside the chat's prompt."""
