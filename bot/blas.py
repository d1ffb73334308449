"""One BLAS thread per process: lookups multiply small matrices, where a thread pool only waits.

numpy's OpenBLAS starts a thread per core and splits even a question's 10 x 64 by 64 x 300
product among them. On a busy machine those threads wait for a core: a lookup's p99 on the
built-in deck was 15-20 ms with the default pool and 0.39 ms with one thread (2 cores, load 4.5;
the median 0.18 ms either way). The bot answers lookups one at a time on its event loop, so a
pool buys nothing. The variables are read when numpy loads, so ``one_thread`` runs before
anything imports it (``bot.cli.main``); a value someone set is kept.
"""

from __future__ import annotations

import os

VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def one_thread() -> None:
    """Asks numpy's BLAS (OpenBLAS, or MKL/OpenMP builds) for one thread, unless already set."""
    for variable in VARIABLES:
        os.environ.setdefault(variable, "1")
