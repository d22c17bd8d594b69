"""The app's one-line text field: an Input whose keys are applied in the order they were typed
(see `ordered_keys`). Every Input of the app is a Field."""

from __future__ import annotations

from textual.widgets import Input

from .ordered_keys import OrderedKeys


class Field(OrderedKeys, Input):
    """The app's one-line text field."""
