"""Shared types: the batch of experience every learner and bonus consumes."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax.numpy as jnp

__all__ = ["Transition", "require_extras", "valid_mask"]


class Transition(NamedTuple):
    """One step of experience, with any leading axes (``[T, N]``, ``[U]``, ...).

    Build it by keyword. ``next_obs`` is the true observation reached, *before* any
    auto-reset. ``valid`` marks what learning may use: False on next-step reset
    pseudo-steps (``~info["reset_step"]``) and on impossible product states; it
    defaults to True and broadcasts to ``reward``'s shape (see :func:`valid_mask`).
    ``obs`` and ``action`` may be pytrees (``{"env", "machine"}`` dicts).
    ``extras`` holds capability fields, e.g. ``reward_observed`` for monitored
    learners; treat it as read-only (the default is shared).

    Attributes:
      obs: observation s_t.
      action: action a_t.
      reward: ``[...]`` float32, r_t.
      next_obs: observation s_{t+1}, before any reset.
      terminated: ``[...]`` bool, s_{t+1} is terminal.
      truncated: ``[...]`` bool, the episode was cut after this step.
      valid: ``[...]`` bool (or a broadcastable scalar), use for learning.
      extras: dict of capability fields.

    Example:
      >>> t = Transition(obs=jnp.zeros(3), action=jnp.zeros(3, jnp.int32),
      ...     reward=jnp.ones(3), next_obs=jnp.ones(3),
      ...     terminated=jnp.zeros(3, bool), truncated=jnp.zeros(3, bool))
      >>> valid_mask(t).tolist()
      [True, True, True]
    """

    obs: Any
    action: Any
    reward: Any
    next_obs: Any
    terminated: Any
    truncated: Any
    valid: Any = True
    extras: dict[str, Any] = {}  # noqa: RUF012 - a shared, never-mutated default


def valid_mask(batch: Transition) -> Any:
    """``batch.valid`` broadcast to the shape of ``batch.reward``, as bool.

    Example:
      >>> t = Transition(obs=0, action=0, reward=jnp.ones((2, 3)), next_obs=0,
      ...     terminated=False, truncated=False)
      >>> valid_mask(t).shape
      (2, 3)
    """
    reward = jnp.asarray(batch.reward)
    return jnp.broadcast_to(jnp.asarray(batch.valid, bool), reward.shape)


def require_extras(batch: Transition, *names: str, who: str = "this learner") -> None:
    """Raises a ``KeyError`` naming the first missing ``extras`` field.

    Example:
      >>> t = Transition(obs=0, action=0, reward=0.0, next_obs=0,
      ...     terminated=False, truncated=False, extras={"a": 1})
      >>> require_extras(t, "a")
      >>> try:
      ...     require_extras(t, "monitor_reward", who="mon_q")
      ... except KeyError as e:
      ...     print(e.args[0])
      mon_q needs `extras['monitor_reward']` in its Transition; it has ['a'].
    """
    for name in names:
        if name not in batch.extras:
            raise KeyError(
                f"{who} needs `extras[{name!r}]` in its Transition; "
                f"it has {sorted(batch.extras)}."
            )
