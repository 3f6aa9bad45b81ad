"""The built-in tasks of Hochreiter & Schmidhuber (1997), "Long Short-Term Memory", Sec. 5.

Each follows the paper's definition (inputs, target, criterion, stopping rule, test protocol)
and carries the paper's numbers as data (`Task.reference`):

- `embedded-reber-1997` (and `embedded-reber-4x1-1997`, the paper's other net): Exp. 1
  (Sec. 5.1, Table 1)
- `two-sequence-1997`, `noise-1997`, `long-lag-1997`: Exp. 2a, 2b, 2c (Sec. 5.2, Tables 2, 3)
- `noisy-sequence-1997`, `noisy-signal-1997`, `noisy-target-1997` and their `-n1-` twins:
  Exp. 3a, 3b, 3c with N = 3 and N = 1 (Sec. 5.3, Tables 4-6)
- `adding-1997`, `multiplication-1997`: Exp. 4 and 5 (Sec. 5.4, 5.5, Tables 7, 8)
- `temporal-order-1997`, `temporal-order-3-1997`: Exp. 6a and 6b (Sec. 5.6, Table 9)

Importing this package registers them.
"""

from rnnbench.tasks.hochreiter1997 import (  # noqa: F401
    marked_pairs,
    noisy_sequences,
    reber,
    symbols,
    temporal_order,
)
