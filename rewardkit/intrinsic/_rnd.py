"""Random network distillation (Burda et al., 2019)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from rewardkit.core import check_choice
from rewardkit.intrinsic._base import IntrinsicBonus
from rewardkit.intrinsic._engine import Method, common_config, make_bonus, pick
from rewardkit.intrinsic._nets import Encoder
from rewardkit.intrinsic._train import masked_mean

__all__ = ["rnd"]


def _reduce(sq: jax.Array, reduction: str) -> jax.Array:
    return jnp.sum(sq, -1) if reduction == "sum" else jnp.mean(sq, -1)


def rnd(
    *,
    num_envs: int,
    preset: str | None = None,
    beta0: float = 1.0,
    kappa: float = 0.0,
    kappa_unit: str = "update",
    obs_norm: str = "rms",
    obs_eps: float | None = None,
    obs_clip: float = 5.0,
    reward_norm: str | None = None,
    gamma: float | None = None,
    forward_filter: str | None = None,
    warmup_transitions: int | None = None,
    latent_dim: int = 128,
    hidden: int = 256,
    encoder: str = "auto",
    init: str = "orthogonal",
    learning_rate: float = 1e-3,
    batch_size: int = 256,
    update_proportion: float | None = None,
    reduction: str | None = None,
    train_on: str | None = None,
) -> IntrinsicBonus:
    r"""Random network distillation: the predictor's error on a fixed random net.

    .. math:: r^i_t = \sum_j \big(\hat f(s_{t+1}) - f(s_{t+1})\big)_j^2

    with f a fixed random encoder, f̂ a predictor trained by MSE on 25 % of the
    samples (``update_proportion``), observations whitened with running
    statistics and clipped to ±5, and the bonus divided by the running std of the
    intrinsic *return* (``reward_norm="return_std"``). Lifelong (not episodic).

    Args:
      num_envs: N, the number of parallel envs of every batch.
      preset: ``None`` (paper defaults) or ``"rllte"`` (the anchor's deviations:
        ``reduction="mean"``, ``reward_norm="reward_std"``, ``train_on="obs"``,
        ``update_proportion=1.0``, ``obs_eps=0``, ``forward_filter="replace"``
        when ``gamma`` is given).
      beta0: β0 >= 0 of β_t = β0 (1 − κ)^t.
      kappa: κ in [0, 1].
      kappa_unit: ``"update"`` (t counts updates) or ``"env_step"``.
      obs_norm: ``"rms"``, ``"scale"`` (uint8 /255) or ``"none"``.
      obs_eps: epsilon of the RMS observation normalisation (default 1e-8).
      obs_clip: clip of normalised observations.
      reward_norm: ``"return_std"`` (default), ``"reward_std"``, ``"minmax"``,
        ``"minmax_batch"`` or ``"none"``.
      gamma: discount of the intrinsic-return filter (default 0.99).
      forward_filter: ``"scale"`` (default) or ``"replace"``.
      warmup_transitions: transitions of statistics before any bonus (default
        2560 × ``num_envs`` with ``"rms"``).
      latent_dim: output width of target and predictor.
      hidden: hidden width of the vector encoder.
      encoder: ``"auto"``, ``"mlp"``, ``"minigrid"``, ``"espeholt"``, ``"nature"``.
      init: ``"orthogonal"`` or ``"uniform"``.
      learning_rate: Adam learning rate.
      batch_size: minibatch size.
      update_proportion: fraction of samples trained on (default 0.25).
      reduction: ``"sum"`` (default) or ``"mean"`` over latent dimensions.
      train_on: ``"next_obs"`` (default, the scored state) or ``"obs"``.

    Returns:
      The :class:`~rewardkit.intrinsic.IntrinsicBonus`.

    Example:
      >>> import gymnasium as gym
      >>> from rewardkit.core import Transition
      >>> bonus = rnd(num_envs=2, latent_dim=4, hidden=8, warmup_transitions=0)
      >>> state = bonus.init(jax.random.key(0), gym.spaces.Box(-1, 1, (3,)), None)
      >>> z = jnp.zeros((5, 2), bool)
      >>> batch = Transition(obs=jnp.ones((5, 2, 3)), action=None, reward=z * 1.0,
      ...     next_obs=jnp.ones((5, 2, 3)), terminated=z, truncated=z)
      >>> r, state, info = bonus.compute(state, batch)
      >>> r.shape, info["raw"].dtype
      ((5, 2), dtype('float32'))

    References:
      Burda, Edwards, Storkey and Klimov (2019). Exploration by random network
      distillation. ICLR.
    """
    reduction = pick(reduction, "sum", preset, "mean")
    check_choice("reduction", reduction, ("sum", "mean"))
    train_on = pick(train_on, "next_obs", preset, "obs")
    check_choice("train_on", train_on, ("next_obs", "obs"))
    cfg = common_config(
        num_envs=num_envs,
        preset=preset,
        beta0=beta0,
        kappa=kappa,
        kappa_unit=kappa_unit,
        obs_norm=obs_norm,
        obs_eps=obs_eps,
        obs_clip=obs_clip,
        reward_norm=pick(reward_norm, "return_std", preset, "reward_std"),
        gamma=gamma,
        forward_filter=forward_filter,
        warmup_transitions=warmup_transitions,
        latent_dim=latent_dim,
        hidden=hidden,
        encoder=encoder,
        init=init,
        learning_rate=learning_rate,
        batch_size=batch_size,
        update_proportion=pick(update_proportion, 0.25, preset, 1.0),
    )

    def build(key: jax.Array, spec: Any):
        k_pred, k_target = jax.random.split(key)
        make = lambda k: Encoder(  # noqa: E731
            spec, cfg.encoder, cfg.latent_dim, cfg.hidden, cfg.init, nnx.Rngs(k)
        )
        graphdef, predictor = nnx.split(make(k_pred))
        target = nnx.state(make(k_target))
        return {"net": graphdef}, {"predictor": predictor}, {"target": target}

    def error(g, params, fixed, x):
        pred = nnx.merge(g["net"], params["predictor"])(x)
        goal = jax.lax.stop_gradient(nnx.merge(g["net"], fixed["target"])(x))
        return jnp.square(pred - goal)

    def raw(g, params, fixed, obs_n, act, next_n):
        del obs_n, act  # RND scores the state reached.
        return _reduce(error(g, params, fixed, next_n), reduction), {}

    def loss(g, fixed, params, mb, mask, key):
        del key  # deterministic loss
        x = mb["next_obs"] if train_on == "next_obs" else mb["obs"]
        return masked_mean(jnp.mean(error(g, params, fixed, x), -1), mask), {}

    method = Method(
        name="rnd",
        build=build,
        loss=loss,
        optimizer=optax.adam(cfg.learning_rate),
        needs_action=False,
        raw=raw,
    )
    return make_bonus(method, cfg)
