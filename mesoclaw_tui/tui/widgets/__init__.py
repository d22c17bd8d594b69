"""Widgets of the mesoclaw app."""
