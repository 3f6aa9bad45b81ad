"""Entry-point module of the built-in tasks: importing it registers them."""

from rnnbench.tasks import adding, copy_memory, delayed_recall, hochreiter1997  # noqa: F401
