"""One training epoch over a rollout: shuffled minibatches under ``lax.scan``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax

__all__ = ["ensemble_adam", "masked_mean", "train_epoch"]

#: ``(params, minibatch, mask [B], key) -> (loss, metrics)``.
LossFn = Callable[[Any, dict[str, Any], jax.Array, jax.Array], tuple[jax.Array, Any]]


def masked_mean(loss: jax.Array, mask: jax.Array) -> jax.Array:
    """Σ(mask·ℓ) / max(Σmask, 1): the update-proportion loss of spec §2.4.

    Example:
      >>> float(masked_mean(jnp.array([1.0, 3.0, 5.0]), jnp.array([1, 1, 0], bool)))
      2.0
    """
    m = mask.astype(loss.dtype)
    return jnp.sum(m * loss) / jnp.maximum(jnp.sum(m), 1.0)


def train_epoch(
    key: jax.Array,
    params: Any,
    opt_state: Any,
    optimizer: optax.GradientTransformation,
    loss_fn: LossFn,
    data: dict[str, Any],
    valid: jax.Array,
    *,
    batch_size: int,
    proportion: float,
) -> tuple[Any, Any, dict[str, jax.Array]]:
    """One epoch of minibatch gradient steps over ``B`` samples.

    A ``jax.random.permutation`` is cut into a static ``(n_mb, batch_size)`` index
    array (the last minibatch padded and masked) and scanned. Each sample is kept
    with probability ``proportion`` (Bernoulli mask, spec §2.4) and only if
    ``valid``.

    Args:
      key: PRNG key.
      params: the trainable pytree.
      opt_state: its optimiser state.
      optimizer: the optax transformation.
      loss_fn: ``(params, minibatch, mask, key) -> (loss, metrics dict)``; the
        minibatch dict also holds ``"minibatch"``, its index i in the epoch
        (int32), which extra-args optimisers receive as ``minibatch=i``.
      data: dict of ``[B, ...]`` arrays.
      valid: ``[B]`` bool.
      batch_size: minibatch size (capped at ``B``).
      proportion: update proportion p in (0, 1].

    Returns:
      ``(params, opt_state, metrics)``, metrics averaged over minibatches.

    Example:
      >>> opt = optax.sgd(0.1)
      >>> loss = lambda p, mb, m, k: (masked_mean((p - mb["x"]) ** 2, m), {})
      >>> p, _, m = train_epoch(jax.random.key(0), jnp.float32(0.0),
      ...     opt.init(jnp.float32(0.0)), opt, loss, {"x": jnp.ones(4)},
      ...     jnp.ones(4, bool), batch_size=2, proportion=1.0)
      >>> round(float(p), 3), sorted(m)
      (0.36, ['loss'])
    """
    n = valid.shape[0]
    bs = min(batch_size, n)
    n_mb = -(-n // bs)
    pad = n_mb * bs - n
    k_perm, k_keep, k_loss = jax.random.split(key, 3)
    perm = jax.random.permutation(k_perm, n)
    idx = jnp.concatenate([perm, jnp.zeros((pad,), perm.dtype)]).reshape(n_mb, bs)
    real = jnp.concatenate([jnp.ones((n,), bool), jnp.zeros((pad,), bool)])
    real = real.reshape(n_mb, bs)
    keep = valid
    if proportion < 1.0:
        keep = keep & jax.random.bernoulli(k_keep, proportion, (n,))
    keys = jax.random.split(k_loss, n_mb)

    def body(carry, xs):
        params, opt_state = carry
        ix, is_real, k, i = xs
        mb = {**jax.tree.map(lambda a: a[ix], data), "minibatch": i}
        mask = keep[ix] & is_real
        (loss, aux), grads = jax.value_and_grad(loss_fn, has_aux=True)(
            params, mb, mask, k
        )
        if isinstance(optimizer, optax.GradientTransformationExtraArgs):
            updates, opt_state = optimizer.update(grads, opt_state, params, minibatch=i)
        else:
            updates, opt_state = optimizer.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        return (params, opt_state), {"loss": loss, **aux}

    (params, opt_state), metrics = jax.lax.scan(
        body, (params, opt_state), (idx, real, keys, jnp.arange(n_mb, dtype=jnp.int32))
    )
    return params, opt_state, jax.tree.map(jnp.mean, metrics)


def ensemble_adam(
    learning_rate: float, members: int, *, round_robin: bool
) -> optax.GradientTransformationExtraArgs:
    """Adam with a separate state per ensemble member (leading axis ``members``).

    Element-wise Adam over stacked members equals one Adam per member while every
    member steps on every minibatch. With ``round_robin`` minibatch i of each
    epoch (``update(..., minibatch=i)``) steps only member ``i mod members`` and
    only its Adam state advances (spec §3.3).

    Example:
      >>> opt = ensemble_adam(0.1, 2, round_robin=True)
      >>> p = jnp.zeros((2, 3))
      >>> u, s = opt.update(jnp.ones((2, 3)), opt.init(p), p, minibatch=1)
      >>> [round(float(v), 3) for v in u[:, 0]]
      [0.0, -0.1]
    """
    base = optax.adam(learning_rate)

    def init(params):
        return jax.vmap(base.init)(params)

    def update(grads, state, params=None, *, minibatch=0, **extra):
        del extra  # other transformations' arguments
        updates, new = jax.vmap(base.update)(grads, state, params)
        if round_robin:
            sel = jnp.arange(members) == minibatch % members

            def pick(a, b):
                return jnp.where(sel.reshape((members,) + (1,) * (a.ndim - 1)), a, b)

            updates = jax.tree.map(lambda u: pick(u, jnp.zeros_like(u)), updates)
            new = jax.tree.map(pick, new, state)
        return updates, new

    return optax.GradientTransformationExtraArgs(init, update)
