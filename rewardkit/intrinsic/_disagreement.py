"""Self-supervised exploration via disagreement (Pathak, Gandhi and Gupta, 2019)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from rewardkit.core import check_choice, check_in_range, check_positive_int
from rewardkit.intrinsic._base import IntrinsicBonus
from rewardkit.intrinsic._engine import Method, common_config, make_bonus, pick
from rewardkit.intrinsic._nets import INITS, MLP, Encoder
from rewardkit.intrinsic._train import ensemble_adam, masked_mean

__all__ = ["disagreement"]


def disagreement(
    *,
    num_envs: int,
    preset: str | None = None,
    beta0: float = 1.0,
    kappa: float = 0.0,
    kappa_unit: str = "update",
    obs_norm: str = "rms",
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
    ensemble_size: int | None = None,
    keep_prob: float | None = None,
    member_schedule: str | None = None,
    variance: str | None = None,
    member_init: str | None = None,
) -> IntrinsicBonus:
    r"""Disagreement: the variance of an ensemble of forward models.

    .. math:: r^i_t = \frac{1}{d}\sum_j \operatorname{Var}_m\big[g_m(\phi(s_t), a_t)_j\big]

    with φ a fixed random encoder and M = 5 forward models g_m, every member
    trained on every minibatch with an independent per-sample keep-probability
    0.8 and stop-gradient targets φ(s_{t+1}) (the authors' code). The population
    variance (÷M) is averaged over feature dims; a sum would differ by the factor
    ``latent_dim``, which reward normalisation removes. Lifelong.

    Args:
      num_envs: N.
      preset: ``None`` or ``"rllte"`` (``ensemble_size=4``,
        ``member_schedule="round_robin"``, ``variance="unbiased"``,
        ``member_init="uniform"``, ``keep_prob=1.0``, ``obs_eps=0``).
      beta0: β0 >= 0.
      kappa: κ in [0, 1].
      kappa_unit: ``"update"`` or ``"env_step"``.
      obs_norm: ``"rms"`` (default), ``"scale"`` or ``"none"``.
      obs_eps: RMS epsilon.
      obs_clip: clip of normalised observations.
      reward_norm: default ``"reward_std"``.
      gamma: discount of the return filter (default 0.99).
      forward_filter: ``"scale"`` or ``"replace"``.
      warmup_transitions: statistics-only transitions.
      latent_dim: φ's width.
      hidden: hidden width.
      encoder: see :func:`rnd`.
      init: initialisation of the encoder (and of members unless ``member_init``).
      learning_rate: Adam learning rate (one Adam state per member).
      batch_size: minibatch size.
      update_proportion: fraction of samples trained on (shared mask).
      ensemble_size: M >= 2 (default 5).
      keep_prob: per-member, per-sample keep probability (default 0.8).
      member_schedule: ``"all"`` (default) or ``"round_robin"`` (minibatch i
        trains member i mod M only).
      variance: ``"population"`` (default) or ``"unbiased"``.
      member_init: initialisation of the members (default ``init``).

    Returns:
      The :class:`~rewardkit.intrinsic.IntrinsicBonus` (``needs_action``).

    Example:
      >>> bonus = disagreement(num_envs=4, ensemble_size=3, preset="rllte")
      >>> bonus.name, bonus.needs_action, bonus.episodic
      ('disagreement', True, False)

    References:
      Pathak, Gandhi and Gupta (2019). Self-supervised exploration via
      disagreement. ICML.
    """
    check_choice("init", init, INITS)
    m = check_positive_int("ensemble_size", pick(ensemble_size, 5, preset, 4))
    if m < 2:
        check_in_range("ensemble_size", m, 2, 2**31)
    keep = check_in_range("keep_prob", pick(keep_prob, 0.8, preset, 1.0), 0.0, 1.0)
    if keep <= 0:
        check_in_range("keep_prob", keep, 1e-12, 1.0)
    schedule = pick(member_schedule, "all", preset, "round_robin")
    check_choice("member_schedule", schedule, ("all", "round_robin"))
    variance = pick(variance, "population", preset, "unbiased")
    check_choice("variance", variance, ("population", "unbiased"))
    m_init = pick(member_init, init, preset, "uniform")
    check_choice("member_init", m_init, INITS)
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
        k_enc, k_mem = jax.random.split(key)
        enc = Encoder(spec, cfg.encoder, d, cfg.hidden, cfg.init, nnx.Rngs(k_enc))
        g_enc, encoder_state = nnx.split(enc)
        sizes = [d + spec.action_dim, cfg.hidden, d]
        g_mem = nnx.graphdef(MLP(sizes, m_init, nnx.Rngs(0)))
        members = jax.vmap(lambda k: nnx.state(MLP(sizes, m_init, nnx.Rngs(k))))(
            jax.random.split(k_mem, m)
        )
        graphdef = {"encoder": g_enc, "member": g_mem}
        return graphdef, {"members": members}, {"encoder": encoder_state}

    def predict(g, params, fixed, obs_n, act):
        phi = nnx.merge(g["encoder"], fixed["encoder"])(obs_n)
        x = jnp.concatenate([phi, act], -1)
        return jax.vmap(lambda s: nnx.merge(g["member"], s)(x))(params["members"])

    def raw(g, params, fixed, obs_n, act, next_n):
        del next_n  # the disagreement needs only (s_t, a_t)
        preds = predict(g, params, fixed, obs_n, act)  # [M, B, d]
        var = jnp.var(preds, axis=0, ddof=1 if variance == "unbiased" else 0)
        return jnp.mean(var, -1), {}

    def loss(g, fixed, params, mb, mask, key):
        target = jax.lax.stop_gradient(
            nnx.merge(g["encoder"], fixed["encoder"])(mb["next_obs"])
        )
        if schedule == "round_robin":  # only member i mod M learns: compute it alone
            k = mb["minibatch"] % m
            member = jax.tree.map(lambda a: a[k], params["members"])
            phi = nnx.merge(g["encoder"], fixed["encoder"])(mb["obs"])
            x = jnp.concatenate([phi, mb["act"]], -1)
            pred = nnx.merge(g["member"], member)(x)
            per = jnp.mean(jnp.square(pred - target), -1)
            if keep < 1.0:
                mask = mask & jax.random.bernoulli(key, keep, per.shape)
            loss = masked_mean(per, mask)
            return loss, {"member_loss": loss}
        preds = predict(g, params, fixed, mb["obs"], mb["act"])  # [M, B, d]
        per = jnp.mean(jnp.square(preds - target), -1)  # [M, B]
        keep_m = mask
        if keep < 1.0:
            keep_m = mask & jax.random.bernoulli(key, keep, per.shape)
        losses = jax.vmap(masked_mean)(per, jnp.broadcast_to(keep_m, per.shape))
        return jnp.sum(losses), {"member_loss": jnp.mean(losses)}

    method = Method(
        name="disagreement",
        build=build,
        loss=loss,
        optimizer=ensemble_adam(
            cfg.learning_rate, m, round_robin=schedule == "round_robin"
        ),
        needs_action=True,
        raw=raw,
    )
    return make_bonus(method, cfg)
