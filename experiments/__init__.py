"""Jitted scripts that reproduce the papers' headline results.

Run ``python -m experiments list`` to see them and ``python -m experiments NAME
[--quick]`` to run one. Each writes a CSV and a PNG under ``results/NAME/``.

Importing this package turns off XLA:CPU's concurrency-optimised scheduler (before
JAX starts its backend): on jax 0.10 it deadlocked some vmapped programs here (0 %
CPU, every thread waiting), and turning it off fixed every case seen. The test
suite and the benchmarks import it for the same reason. Set
``REWARDKIT_KEEP_XLA_FLAGS=1`` to leave ``XLA_FLAGS`` untouched (e.g. on a jaxlib
that no longer knows the flag).
"""

import os

_FLAG = "--xla_cpu_enable_concurrency_optimized_scheduler=false"
_flags = os.environ.get("XLA_FLAGS", "")
if not os.environ.get("REWARDKIT_KEEP_XLA_FLAGS") and _FLAG.split("=")[0] not in _flags:
    os.environ["XLA_FLAGS"] = (_flags + " " + _FLAG).strip()
