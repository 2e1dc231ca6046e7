"""Observation and action spaces: static specs, action encodings, batch checks."""

from __future__ import annotations

import dataclasses
from typing import Any

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np

from rewardkit.core import Transition

__all__ = ["Spec", "check_batch", "make_spec"]


@jax.tree_util.register_static
@dataclasses.dataclass(frozen=True)
class Spec:
    """Static facts about the spaces a bonus was initialised with (no array leaves).

    Attributes:
      obs_shape: the single observation's shape.
      obs_kind: ``"vector"`` (rank 1, or flattened) or ``"image"`` (rank 3).
      channels_first: image observations are CHW (transposed to HWC inside).
      obs_uint8: the observation space's dtype is uint8.
      action_kind: ``"discrete"``, ``"multi_discrete"``, ``"box"`` or
        ``"multi_binary"``.
      action_shape: the single action's shape.
      action_sizes: category counts (discrete kinds).
      action_low: flattened lower bounds (Box), or ``()``.
      action_high: flattened upper bounds (Box), or ``()``.
    """

    obs_shape: tuple[int, ...]
    obs_kind: str
    channels_first: bool
    obs_uint8: bool
    action_kind: str
    action_shape: tuple[int, ...]
    action_sizes: tuple[int, ...]
    action_low: tuple[float, ...]
    action_high: tuple[float, ...]

    @property
    def action_dim(self) -> int:
        """Width of the encoded action (one-hots concatenated, or flat Box)."""
        if self.action_kind in ("discrete", "multi_discrete"):
            return int(sum(self.action_sizes))
        return int(np.prod(self.action_shape, dtype=np.int64))

    def encode_action(self, action: Any) -> jax.Array:
        """``[..., *action_shape]`` actions -> ``[..., action_dim]`` float32."""
        lead = len(self.action_shape)
        if self.action_kind == "discrete":
            return jax.nn.one_hot(action, self.action_sizes[0], dtype=jnp.float32)
        if self.action_kind == "multi_discrete":
            parts = [
                jax.nn.one_hot(action[..., i], n, dtype=jnp.float32)
                for i, n in enumerate(self.action_sizes)
            ]
            return jnp.concatenate(parts, axis=-1)
        flat = jnp.asarray(action, jnp.float32)
        flat = flat.reshape(*flat.shape[: flat.ndim - lead], -1)
        if self.action_kind == "box":
            low = jnp.asarray(self.action_low, jnp.float32)
            high = jnp.asarray(self.action_high, jnp.float32)
            bounded = jnp.isfinite(low) & jnp.isfinite(high) & (high > low)
            scaled = 2.0 * (flat - low) / jnp.where(bounded, high - low, 1.0) - 1.0
            flat = jnp.where(bounded, scaled, flat)
        return flat

    def inverse_loss(self, out: jax.Array, action: Any) -> jax.Array:
        """Per-sample inverse-dynamics loss ``[B]`` of head outputs ``[B, dim]``.

        Cross-entropy (summed over components) for discrete kinds, binary
        cross-entropy for ``MultiBinary``, squared error summed over action
        dimensions for ``Box`` (reduced to ``[B]`` before any masking).
        """
        if self.action_kind == "discrete":
            logp = jax.nn.log_softmax(out, axis=-1)
            return -jnp.take_along_axis(logp, action[:, None].astype(jnp.int32), -1)[
                :, 0
            ]
        if self.action_kind == "multi_discrete":
            total, start = jnp.zeros(out.shape[0], jnp.float32), 0
            for i, n in enumerate(self.action_sizes):
                logp = jax.nn.log_softmax(out[:, start : start + n], axis=-1)
                a = action[:, i].astype(jnp.int32)[:, None]
                total = total - jnp.take_along_axis(logp, a, -1)[:, 0]
                start += n
            return total
        target = self.encode_action(action)
        if self.action_kind == "multi_binary":
            ce = jnp.maximum(out, 0) - out * target + jnp.log1p(jnp.exp(-jnp.abs(out)))
            return jnp.sum(ce, axis=-1)
        return jnp.sum(jnp.square(out - target), axis=-1)


def make_spec(obs_spec: Any, action_spec: Any, *, needs_action: bool) -> Spec:
    """Checks the spaces a bonus is initialised with and returns their :class:`Spec`.

    Raises:
      TypeError: naming ``obs_spec`` or ``action_space`` for unsupported spaces.
      ValueError: for an observation rank the encoders cannot take.

    Example:
      >>> s = make_spec(gym.spaces.Box(0, 255, (7, 7, 3), np.uint8),
      ...     gym.spaces.Discrete(7), needs_action=True)
      >>> s.obs_kind, s.channels_first, s.action_dim
      ('image', False, 7)
    """
    if not isinstance(obs_spec, gym.spaces.Box):
        raise TypeError(
            "`obs_spec` must be a gymnasium.spaces.Box (vector or image observations); "
            f"got {type(obs_spec).__name__} {obs_spec!r}. Flatten dict/discrete "
            "observations first (e.g. gymnasium.wrappers.FlattenObservation)."
        )
    shape = tuple(int(d) for d in obs_spec.shape)
    if len(shape) in (1, 2) or (len(shape) == 3 and min(shape) == 0):
        kind, first = "vector", False
    elif len(shape) == 3:
        kind = "image"
        first = shape[0] in (1, 3, 4) and shape[-1] not in (1, 3, 4)
    else:
        raise ValueError(
            "`obs_spec` must have rank 1 (vector), 2 (flattened) or 3 (image, HWC "
            f"or CHW); got shape {shape}."
        )
    uint8 = np.dtype(obs_spec.dtype) == np.uint8
    a_kind, a_shape, sizes, low, high = "discrete", (), (1,), (), ()
    if isinstance(action_spec, gym.spaces.Discrete):
        sizes = (int(action_spec.n),)
    elif isinstance(action_spec, gym.spaces.MultiDiscrete):
        if np.ndim(action_spec.nvec) != 1:
            raise TypeError(
                "`action_space` MultiDiscrete must have a 1-d `nvec`; got "
                f"{action_spec.nvec!r}."
            )
        a_kind, a_shape = "multi_discrete", tuple(action_spec.shape)
        sizes = tuple(int(n) for n in action_spec.nvec)
    elif isinstance(action_spec, gym.spaces.Box):
        a_kind, a_shape, sizes = "box", tuple(action_spec.shape), ()
        low = tuple(float(x) for x in np.ravel(action_spec.low))
        high = tuple(float(x) for x in np.ravel(action_spec.high))
    elif isinstance(action_spec, gym.spaces.MultiBinary):
        a_kind, a_shape, sizes = "multi_binary", tuple(np.atleast_1d(action_spec.n)), ()
    elif needs_action or action_spec is not None:
        raise TypeError(
            "`action_space` must be a gymnasium Discrete, MultiDiscrete, Box or "
            f"MultiBinary space; got {type(action_spec).__name__} {action_spec!r}."
        )
    return Spec(shape, kind, first, uint8, a_kind, a_shape, sizes, low, high)


def _shape(x: Any) -> tuple[int, ...] | None:
    return None if x is None else tuple(np.shape(x))


def check_batch(
    batch: Any, spec: Spec, num_envs: int, *, needs_action: bool, who: str
) -> tuple[int, int]:
    """Checks a batch's type, fields and shapes (at trace time); returns ``(T, N)``.

    Raises:
      TypeError: if ``batch`` is not a ``rk.core.Transition``.
      ValueError: naming the field, the expected shape and the shape received.
    """
    if not isinstance(batch, Transition):
        raise TypeError(
            f"{who}: `batch` must be a rewardkit.core.Transition with leading axes "
            f"[T, N]; got {type(batch).__name__}."
        )
    fields = ["next_obs", "terminated", "truncated"] + (
        ["obs", "action"] if needs_action else ["obs"]
    )
    for field in fields:
        if getattr(batch, field) is None:
            raise ValueError(
                f"{who}: `batch.{field}` is required by this bonus; got None."
            )
    shape = _shape(batch.terminated)
    if shape is None or len(shape) != 2:
        raise ValueError(
            f"{who}: `batch.terminated` must have shape [T, N]; got {shape}."
        )
    t, n = shape
    if n != num_envs:
        raise ValueError(
            f"{who}: the batch has N={n} envs but the bonus was built with "
            f"`num_envs`={num_envs}."
        )
    want = (t, n, *spec.obs_shape)
    for field in ("obs", "next_obs"):
        got = _shape(getattr(batch, field))
        if got != want:
            raise ValueError(
                f"{who}: `batch.{field}` must have shape [T, N, *obs_shape] = "
                f"{want}; got {got}."
            )
    if _shape(batch.truncated) != (t, n):
        raise ValueError(
            f"{who}: `batch.truncated` must have shape {(t, n)}; "
            f"got {_shape(batch.truncated)}."
        )
    if needs_action:
        want_a = (t, n, *spec.action_shape)
        if _shape(batch.action) != want_a:
            raise ValueError(
                f"{who}: `batch.action` must have shape [T, N, *action_shape] = "
                f"{want_a}; got {_shape(batch.action)}."
            )
    return t, n
