"""Side-by-side speed comparisons (see docs/benchmarks.md)."""

import experiments  # noqa: F401 - sets the XLA:CPU scheduler flag before JAX starts
