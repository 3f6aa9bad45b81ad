"""Entry-point module of the built-in tasks: importing it registers them."""

from rnnbench.tasks import (  # noqa: F401
    adding,
    bai2018,
    copy_memory,
    delayed_recall,
    hochreiter1997,
)
