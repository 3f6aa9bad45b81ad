"""One BLAS thread inside the NumPy models.

OpenBLAS's default threads make the small matrix products of an RNN step many times slower on two
cores (measured 17x here), and N sweep workers each spawning N BLAS threads oversubscribe the cores.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

_controller = None


def inspect_again() -> None:
    """Find the loaded BLAS libraries anew at the next `single_threaded_blas`.

    The controller knows only the libraries loaded when it was made; SciPy brings its own
    OpenBLAS (a second library beside NumPy's), which then runs on every core: measured here,
    a 32 x 32 expm_frechet took 33 ms instead of under 1. Call this after such an import.
    """
    global _controller
    _controller = None


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    global _controller
    if _controller is None:
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()  # inspecting the loaded libraries is the slow part
    with _controller.limit(limits=1, user_api="blas"):
        yield
