"""Host-side bookkeeping shared by the two Gymnasium front-ends.

Holds the bonus state, the jitted ``compute``/``update``/``reset`` (jitted once per
front-end), the rollout buffer and the freeze flag; converts NumPy to JAX at the
boundary. The front-ends only map Gymnasium's conventions onto :meth:`step`.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from rewardkit.core import ConfigError, Transition, check_choice, check_positive_int
from rewardkit.intrinsic._base import IntrinsicBonus

__all__ = ["Runner", "check_frontend_args"]


def check_frontend_args(
    bonus: Any, reward_mode: Any, compute_every: Any, update_every: Any
) -> None:
    """Checks the shared front-end keywords."""
    if not isinstance(bonus, IntrinsicBonus):
        raise TypeError(
            "`bonus` must be an IntrinsicBonus (e.g. rk.intrinsic.rnd(num_envs=...)); "
            f"got {type(bonus).__name__}."
        )
    check_choice("reward_mode", reward_mode, ("sum", "extrinsic"))
    check_choice("compute_every", compute_every, ("step", "rollout"))
    if update_every is not None:
        check_positive_int("update_every", update_every)


class Runner:
    """The bonus state, jitted functions and rollout buffer of a front-end."""

    def __init__(self, bonus: IntrinsicBonus, compute_every: str, update_every: Any):
        self.bonus = bonus
        self.compute_every = compute_every
        self.update_every = update_every
        self.compute_fn = jax.jit(bonus.compute)
        self.update_fn = jax.jit(bonus.update)
        self.reset_fn = jax.jit(bonus.reset)
        self.state: Any = None
        self.frozen = False
        self.buffer: list[dict[str, np.ndarray]] = []
        self.last_bonus: np.ndarray | None = None
        self.last_metrics: dict[str, float] | None = None
        self.warming = False

    def start(self, seed_int: int, obs_space: Any, action_space: Any) -> None:
        """Initialises the bonus state once (first reset)."""
        if self.state is None:
            key = jax.random.key(seed_int)
            self.state = self.bonus.init(key, obs_space, action_space)

    def reset_envs(self, mask: np.ndarray, obs: np.ndarray) -> None:
        """Clears and re-seeds the episodic memory of the masked envs."""
        if self.bonus.episodic and np.any(mask):
            self.state = self.reset_fn(
                self.state, jnp.asarray(mask, bool), jnp.asarray(obs)
            )

    @staticmethod
    def _batch(arrays: dict[str, np.ndarray]) -> Transition:
        """A ``Transition`` from host arrays with leading axes ``[T, N]``."""
        return Transition(**{k: jnp.asarray(v) for k, v in arrays.items()})

    def _stacked(self) -> Transition:
        keys = self.buffer[0].keys()
        return self._batch({k: np.stack([s[k] for s in self.buffer]) for k in keys})

    def step(self, step: dict[str, np.ndarray]) -> dict[str, Any]:
        """Scores (or buffers) one vector step; returns what the front-end reports.

        Returns a dict with ``bonus`` and ``raw`` (``[N]`` float32, zeros in rollout
        mode), ``warming_up`` (bool), and, when a rollout ended, ``rollout_bonus``
        (``[T, N]``) and ``metrics``.
        """
        n = np.shape(step["terminated"])[0]
        out: dict[str, Any] = {
            "bonus": np.zeros(n, np.float32),
            "raw": np.zeros(n, np.float32),
            "warming_up": False,
        }
        if self.compute_every == "step":
            one = self._batch({k: np.expand_dims(v, 0) for k, v in step.items()})
            bonus, self.state, info = self.compute_fn(self.state, one)
            bonus, raw, warm = jax.device_get((bonus, info["raw"], info["warming_up"]))
            out.update(bonus=np.asarray(bonus[0]), raw=np.asarray(raw[0]))
            out["warming_up"] = self.warming = bool(warm)
            if not self.frozen:
                self.buffer.append(step)
        else:
            self.buffer.append(step)
            out["warming_up"] = self.warming  # as of the last batched compute
        if self.update_every is not None and len(self.buffer) >= self.update_every:
            out.update(self.end_rollout())
        return out

    def end_rollout(self) -> dict[str, Any]:
        """Ends a rollout: batched compute (rollout mode), then ``update``."""
        out: dict[str, Any] = {}
        if not self.buffer:
            return out
        batch = self._stacked()
        if self.compute_every == "rollout":
            bonus, self.state, info = self.compute_fn(self.state, batch)
            self.last_bonus = np.asarray(jax.device_get(bonus))
            out["rollout_bonus"] = self.last_bonus.T.copy()
            out["warming_up"] = self.warming = bool(info["warming_up"])
        if not self.frozen:
            self.state, metrics = self.update_fn(self.state, batch)
            self.last_metrics = {
                k: float(v) for k, v in jax.device_get(metrics).items()
            }
            out["metrics"] = self.last_metrics
        self.buffer = []
        return out

    def check_num_envs(self, n: int, who: str) -> None:
        """The bonus must be built for the front-end's number of envs."""
        if self.bonus.num_envs != n:
            raise ConfigError(
                f"{who}: the bonus was built with `num_envs`={self.bonus.num_envs} "
                f"but the environment has {n}; build it with num_envs={n}."
            )


class RunnerControls:
    """The learning controls both Gymnasium front-ends expose over their ``Runner``.

    Subclasses set ``self._runner``, ``self.reward_mode`` and ``self.compute_every``.
    """

    _runner: Runner
    reward_mode: str
    compute_every: str

    @property
    def adds_term(self) -> bool:
        """Whether the bonus is added to the returned reward (the info contract)."""
        return self.reward_mode == "sum" and self.compute_every == "step"

    @property
    def bonus_state(self) -> Any:
        """The current :class:`~rewardkit.intrinsic.BonusState` (``None`` before reset)."""
        return self._runner.state

    @bonus_state.setter
    def bonus_state(self, state: Any) -> None:
        self._runner.state = state

    @property
    def last_bonus(self) -> np.ndarray | None:
        """``[T, N]`` bonuses of the last rollout (``compute_every="rollout"``)."""
        return self._runner.last_bonus

    @property
    def frozen(self) -> bool:
        """True while frozen: no buffering, no ``update``."""
        return self._runner.frozen

    def freeze(self) -> None:
        """Stops learning: parameters, snapshots and β_t stay fixed."""
        self._runner.frozen = True

    def unfreeze(self) -> None:
        """Resumes buffering and updating."""
        self._runner.frozen = False

    def update(self) -> dict[str, float] | None:
        """Ends the rollout now: compute (rollout mode) and ``update``; metrics."""
        return self._runner.end_rollout().get("metrics")
