"""Entry-point module of the built-in tasks: importing it registers them."""

from rnnbench.tasks import adding, delayed_recall  # noqa: F401
