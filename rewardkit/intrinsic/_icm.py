"""Intrinsic curiosity module (Pathak et al., 2017)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from rewardkit.core import ConfigError, check_choice
from rewardkit.intrinsic._base import IntrinsicBonus
from rewardkit.intrinsic._engine import Method, common_config, make_bonus, pick
from rewardkit.intrinsic._nets import MLP, Encoder
from rewardkit.intrinsic._train import masked_mean

__all__ = ["check_loss_weights", "icm"]


def check_loss_weights(value: Any) -> tuple[float, float]:
    """Checks ``loss_weights``: a pair of non-negative numbers, not both zero."""
    ok = (
        isinstance(value, tuple | list)
        and len(value) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        and all(v >= 0 for v in value)
        and sum(value) > 0
    )
    if not ok:
        raise ConfigError(
            "`loss_weights` must be a pair (inverse, forward) of numbers >= 0, not "
            f"both 0; got {value!r}."
        )
    return float(value[0]), float(value[1])


def icm(
    *,
    num_envs: int,
    preset: str | None = None,
    beta0: float = 1.0,
    kappa: float = 0.0,
    kappa_unit: str = "update",
    obs_norm: str = "none",
    obs_eps: float | None = None,
    obs_clip: float = 5.0,
    reward_norm: str = "reward_std",
    gamma: float | None = None,
    forward_filter: str | None = None,
    warmup_transitions: int | None = None,
    latent_dim: int = 128,
    hidden: int = 256,
    encoder: str = "auto",
    init: str = "orthogonal",
    learning_rate: float = 1e-3,
    batch_size: int = 256,
    update_proportion: float = 1.0,
    loss_weights: tuple[float, float] | None = None,
    reduction: str | None = None,
) -> IntrinsicBonus:
    r"""Intrinsic curiosity: the forward model's error in a learned feature space.

    .. math:: r^i_t = \tfrac12 \sum_j \big(\hat g(\phi(s_t), a_t) - \phi(s_{t+1})\big)_j^2

    φ is trained by an inverse model h(φ(s_t), φ(s_{t+1})) → a_t and the forward
    model ĝ; the loss is (1 − β)L_I + βL_F with β = 0.2 (``loss_weights=(0.8,
    0.2)``, inverse first) and L_F = ½‖ĝ − φ(s_{t+1})‖², with no stop-gradient (the
    authors' code). The paper's η is folded into ``beta0``. Lifelong.

    Args:
      num_envs: N.
      preset: ``None`` or ``"rllte"`` (``loss_weights=(1, 1)``,
        ``reduction="mean"``, ``obs_eps=0``, ``forward_filter="replace"``
        when ``gamma`` is given).
      beta0: β0 >= 0.
      kappa: κ in [0, 1].
      kappa_unit: ``"update"`` or ``"env_step"``.
      obs_norm: ``"none"`` (default), ``"rms"`` or ``"scale"``.
      obs_eps: RMS epsilon (default 1e-8).
      obs_clip: clip of normalised observations.
      reward_norm: default ``"reward_std"``; see :func:`rnd`.
      gamma: discount of the return filter (default 0.99).
      forward_filter: ``"scale"`` or ``"replace"``.
      warmup_transitions: statistics-only transitions (default 0 unless ``"rms"``).
      latent_dim: φ's width.
      hidden: hidden width of encoder and heads.
      encoder: see :func:`rnd`.
      init: ``"orthogonal"`` or ``"uniform"``.
      learning_rate: Adam learning rate.
      batch_size: minibatch size.
      update_proportion: fraction of samples trained on.
      loss_weights: ``(inverse, forward)`` weights, default ``(0.8, 0.2)``.
      reduction: ``"sum"`` (½Σ, default) or ``"mean"`` over latent dimensions.

    Returns:
      The :class:`~rewardkit.intrinsic.IntrinsicBonus` (``needs_action``).

    Example:
      >>> import gymnasium as gym
      >>> bonus = icm(num_envs=1, latent_dim=4, hidden=8)
      >>> state = bonus.init(jax.random.key(0), gym.spaces.Box(-1, 1, (3,)),
      ...     gym.spaces.Box(-1, 1, (8,)))
      >>> sorted(state.params)
      ['encoder', 'forward', 'inverse']

    References:
      Pathak, Agrawal, Efros and Darrell (2017). Curiosity-driven exploration by
      self-supervised prediction. ICML.
    """
    w_inv, w_fwd = check_loss_weights(pick(loss_weights, (0.8, 0.2), preset, (1, 1)))
    reduction = pick(reduction, "sum", preset, "mean")
    check_choice("reduction", reduction, ("sum", "mean"))
    cfg = common_config(
        num_envs=num_envs,
        preset=preset,
        beta0=beta0,
        kappa=kappa,
        kappa_unit=kappa_unit,
        obs_norm=obs_norm,
        obs_eps=obs_eps,
        obs_clip=obs_clip,
        reward_norm=reward_norm,
        gamma=gamma,
        forward_filter=forward_filter,
        warmup_transitions=warmup_transitions,
        latent_dim=latent_dim,
        hidden=hidden,
        encoder=encoder,
        init=init,
        learning_rate=learning_rate,
        batch_size=batch_size,
        update_proportion=update_proportion,
    )
    d = cfg.latent_dim

    def build(key: jax.Array, spec: Any):
        k_enc, k_inv, k_fwd = jax.random.split(key, 3)
        a = spec.action_dim
        enc = Encoder(spec, cfg.encoder, d, cfg.hidden, cfg.init, nnx.Rngs(k_enc))
        inv = MLP([2 * d, cfg.hidden, a], cfg.init, nnx.Rngs(k_inv))
        fwd = MLP([d + a, cfg.hidden, d], cfg.init, nnx.Rngs(k_fwd))
        parts = {"encoder": enc, "inverse": inv, "forward": fwd}
        split = {k: nnx.split(m) for k, m in parts.items()}
        graphdef = {k: v[0] for k, v in split.items()}
        params = {k: v[1] for k, v in split.items()}
        return graphdef, params, {}

    def forward_error(g, params, obs_n, act, next_n):
        enc = nnx.merge(g["encoder"], params["encoder"])
        phi, phi_next = enc(obs_n), enc(next_n)
        pred = nnx.merge(g["forward"], params["forward"])(
            jnp.concatenate([phi, act], -1)
        )
        sq = jnp.square(pred - phi_next)
        err = 0.5 * jnp.sum(sq, -1) if reduction == "sum" else jnp.mean(sq, -1)
        return phi, phi_next, err

    def raw(g, params, fixed, obs_n, act, next_n):
        del fixed  # ICM has no fixed network.
        return forward_error(g, params, obs_n, act, next_n)[2], {}

    def loss(g, fixed, params, mb, mask, key):
        del fixed, key  # no fixed network; deterministic loss
        phi, phi_next, l_fwd = forward_error(
            g, params, mb["obs"], mb["act"], mb["next_obs"]
        )
        spec = g["spec"]
        logits = nnx.merge(g["inverse"], params["inverse"])(
            jnp.concatenate([phi, phi_next], -1)
        )
        l_inv = spec.inverse_loss(logits, mb["action"])
        inv, fwd = masked_mean(l_inv, mask), masked_mean(l_fwd, mask)
        return w_inv * inv + w_fwd * fwd, {"inverse_loss": inv, "forward_loss": fwd}

    method = Method(
        name="icm",
        build=build,
        loss=loss,
        optimizer=optax.adam(cfg.learning_rate),
        needs_action=True,
        raw=raw,
    )
    return make_bonus(method, cfg)
