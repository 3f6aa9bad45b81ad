"""Synthetic tasks. The built-ins register through `rnnbench.tasks.builtin`."""

from rnnbench.tasks.base import Task

__all__ = ["Task"]
