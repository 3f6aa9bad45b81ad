"""One BLAS thread inside the NumPy models.

OpenBLAS's default threads make the small matrix products of an RNN step many times slower on two
cores (measured 17x here), and N sweep workers each spawning N BLAS threads oversubscribe the cores.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

_controller = None


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    global _controller
    if _controller is None:
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()  # inspecting the loaded libraries is the slow part
    with _controller.limit(limits=1, user_api="blas"):
        yield
