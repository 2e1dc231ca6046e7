"""The NumPy/JAX boundary: the array namespace of inputs and host conversions."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["array_namespace", "to_numpy"]


def array_namespace(*xs: Any) -> ModuleType:
    """The array namespace of the inputs: ``jax.numpy`` if any is a JAX array.

    Per-step maths (shaping, compiled machines, monitors) is written once against
    this namespace and runs on NumPy on the host and on JAX under ``jit``.

    Args:
      *xs: arrays, tracers or scalars.

    Returns:
      ``jax.numpy`` if any input is a JAX array or tracer, else ``numpy``.

    Example:
      >>> array_namespace(np.float32(1.0)).__name__
      'numpy'
      >>> array_namespace(np.float32(1.0), jnp.ones(2)).__name__
      'jax.numpy'
    """
    for x in xs:
        if isinstance(x, jax.Array):
            return jnp
    return np


def to_numpy(tree: Any) -> Any:
    """Copies every leaf of a pytree into a fresh, writable NumPy array.

    ``np.asarray`` of a JAX array is a read-only view; Gymnasium's ``check_env``
    requires fresh memory on every call, so the adapters copy.

    Example:
      >>> out = to_numpy({"a": jnp.arange(3)})
      >>> out["a"].flags.writeable, out["a"].tolist()
      (True, [0, 1, 2])
    """
    return jax.tree.map(lambda x: np.array(x, copy=True), tree)
