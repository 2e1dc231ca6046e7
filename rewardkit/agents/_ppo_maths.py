"""PPO maths: the actor-critic MLP, GAE and the clipped losses (pure functions)."""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp

__all__ = [
    "ACTIVATIONS",
    "apply_network",
    "gae",
    "init_network",
    "masked_mean",
    "policy_loss",
    "value_loss",
]

ACTIVATIONS = {"tanh": jnp.tanh, "relu": jax.nn.relu}


# -- network ------------------------------------------------------------------------


def _dense(key: jax.Array, n_in: int, n_out: int, scale: float) -> dict[str, jax.Array]:
    w = jax.nn.initializers.orthogonal(scale)(key, (n_in, n_out), jnp.float32)
    return {"w": w, "b": jnp.zeros((n_out,), jnp.float32)}


def _mlp_init(key: jax.Array, n_in: int, hidden: tuple[int, ...]) -> list[dict]:
    layers, keys = [], jax.random.split(key, max(len(hidden), 1))
    for k, width in zip(keys, hidden, strict=False):
        layers.append(_dense(k, n_in, width, math.sqrt(2.0)))
        n_in = width
    return layers


def init_network(
    key: jax.Array, obs_dim: int, num_actions: int, config: Any, n_values: int
) -> dict[str, Any]:
    """Orthogonal init: √2 torso, 0.01 policy, 1.0 value head(s); zero biases.

    ``config`` provides ``hidden`` and ``shared_torso`` (a ``ppo.Config``).

    Example:
      >>> from rewardkit.agents.ppo import Config
      >>> cfg = Config(num_envs=1, rollout_len=1, num_minibatches=1, hidden=(8,))
      >>> params = init_network(jax.random.key(0), 3, 4, cfg, 2)
      >>> logits, v_e, v_i = apply_network(params, jnp.ones((5, 3)), cfg)
      >>> logits.shape, v_e.shape, v_i.shape
      ((5, 4), (5,), (5,))
    """
    k_a, k_c, k_pi, k_v = jax.random.split(key, 4)
    width = config.hidden[-1] if config.hidden else obs_dim
    return {
        "actor": _mlp_init(k_a, obs_dim, config.hidden),
        "critic": [] if config.shared_torso else _mlp_init(k_c, obs_dim, config.hidden),
        "pi": _dense(k_pi, width, num_actions, 0.01),
        "v": _dense(k_v, width, n_values, 1.0),
    }


def apply_network(
    params: dict[str, Any], x: jax.Array, config: Any
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """``x [..., D] -> (logits [..., A], v_ext [...], v_int [...])``.

    ``v_int`` is zeros for a one-head network. See :func:`init_network`.
    """
    act = ACTIVATIONS[config.activation]

    def mlp(layers, h):
        for layer in layers:
            h = act(h @ layer["w"] + layer["b"])
        return h

    h_pi = mlp(params["actor"], x)
    h_v = h_pi if config.shared_torso else mlp(params["critic"], x)
    logits = h_pi @ params["pi"]["w"] + params["pi"]["b"]
    v = h_v @ params["v"]["w"] + params["v"]["b"]
    v_int = v[..., 1] if v.shape[-1] > 1 else jnp.zeros_like(v[..., 0])
    return logits, v[..., 0], v_int


# -- maths --------------------------------------------------------------------------


def gae(
    reward: jax.Array,
    value: jax.Array,
    next_value: jax.Array,
    terminated: jax.Array,
    truncated: jax.Array,
    gamma: float,
    lam: float,
) -> tuple[jax.Array, jax.Array]:
    r"""Generalised advantage estimation over a ``[T, ...]`` rollout.

    .. math:: \delta_t = r_t + \gamma (1 - d^{term}_t) V(s'_t) - V(s_t), \quad
       A_t = \delta_t + \gamma\lambda (1 - d^{term}_t \lor d^{trunc}_t) A_{t+1}

    ``next_value`` is V of the true next observation s'_t (the pre-reset final
    observation at episode ends), so truncated steps bootstrap from it and
    terminated steps do not. Passing all-False flags and V of the next
    observation *in the stream* (the reset observation after an episode end)
    gives the non-episodic return of RND's intrinsic head.

    Args:
      reward: ``[T, ...]`` float32 r_t.
      value: ``[T, ...]`` V(s_t).
      next_value: ``[T, ...]`` V(s'_t).
      terminated: ``[T, ...]`` bool.
      truncated: ``[T, ...]`` bool.
      gamma: discount γ.
      lam: GAE λ.

    Returns:
      ``(advantages, returns)``, both ``[T, ...]``; returns = advantages + value.

    Example:
      >>> r = jnp.array([0.0, 1.0]); v = jnp.array([0.5, 0.5])
      >>> nv = jnp.array([0.5, 2.0]); f = jnp.array([False, False])
      >>> adv, ret = gae(r, v, nv, f, jnp.array([False, True]), 0.9, 1.0)
      >>> [round(float(a), 4) for a in adv]
      [2.02, 2.3]
    """
    term = jnp.asarray(terminated, bool)
    cut = term | jnp.asarray(truncated, bool)
    delta = reward + gamma * jnp.where(term, 0.0, next_value) - value
    decay = gamma * lam * (1.0 - cut.astype(delta.dtype))

    def body(carry, x):
        d, c = x
        a = d + c * carry
        return a, a

    _, adv = jax.lax.scan(body, jnp.zeros_like(delta[0]), (delta, decay), reverse=True)
    return adv, adv + value


def masked_mean(x: jax.Array, mask: jax.Array) -> jax.Array:
    """Mean of ``x`` over the entries where ``mask`` holds (0 if none).

    Example:
      >>> float(masked_mean(jnp.array([1.0, 3.0, 9.0]), jnp.array([True, True, False])))
      2.0
    """
    m = mask.astype(x.dtype)
    return jnp.sum(x * m) / jnp.maximum(jnp.sum(m), 1.0)


def policy_loss(
    log_prob: jax.Array,
    old_log_prob: jax.Array,
    advantage: jax.Array,
    clip_eps: float,
    mask: jax.Array | None = None,
) -> jax.Array:
    r"""Clipped surrogate, :math:`-\mathbb{E}[\min(\rho A, \mathrm{clip}(\rho, 1\pm\epsilon) A)]`.

    Example:
      >>> lp = jnp.log(jnp.array([0.6, 0.3])); old = jnp.log(jnp.array([0.4, 0.4]))
      >>> round(float(policy_loss(lp, old, jnp.array([1.0, -1.0]), 0.2)), 4)
      -0.2
    """
    ratio = jnp.exp(log_prob - old_log_prob)
    clipped = jnp.clip(ratio, 1.0 - clip_eps, 1.0 + clip_eps)
    surrogate = jnp.minimum(ratio * advantage, clipped * advantage)
    mask = jnp.ones_like(surrogate, bool) if mask is None else mask
    return -masked_mean(surrogate, mask)


def value_loss(
    value: jax.Array,
    old_value: jax.Array,
    target: jax.Array,
    clip: float | None,
    mask: jax.Array | None = None,
) -> jax.Array:
    r"""``0.5·E[max((V − R)², (V_clip − R)²)]``, V_clip = V_old + clip(V − V_old, ±c).

    With ``clip=None`` it is ``0.5·E[(V − R)²]``.

    Example:
      >>> v, old, ret = jnp.array([1.0]), jnp.array([0.0]), jnp.array([2.0])
      >>> round(float(value_loss(v, old, ret, 0.5)), 4), float(value_loss(v, old, ret, None))
      (1.125, 0.5)
    """
    err = jnp.square(value - target)
    if clip is not None:
        v_clip = old_value + jnp.clip(value - old_value, -clip, clip)
        err = jnp.maximum(err, jnp.square(v_clip - target))
    mask = jnp.ones_like(err, bool) if mask is None else mask
    return 0.5 * masked_mean(err, mask)
