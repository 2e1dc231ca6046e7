"""Exploration via elliptical episodic bonuses (Henaff et al., 2022)."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from rewardkit.core import check_choice, check_positive
from rewardkit.intrinsic._base import IntrinsicBonus
from rewardkit.intrinsic._engine import Method, common_config, make_bonus, pick
from rewardkit.intrinsic._nets import MLP, Encoder
from rewardkit.intrinsic._train import masked_mean

__all__ = ["E3BEpisodic", "e3b", "sherman_morrison"]


class E3BEpisodic(NamedTuple):
    """Per-env episodic state of :func:`e3b`.

    Attributes:
      inv_cov: ``[N, d, d]`` float32 (float64 under ``jax_enable_x64``), C⁻¹.
      needs_seed: ``[N]`` bool, the episode restarted and C is not yet seeded.
    """

    inv_cov: jax.Array
    needs_seed: jax.Array


def sherman_morrison(inv: jax.Array, phi: jax.Array) -> tuple[jax.Array, jax.Array]:
    r"""Scores φ against C⁻¹ and adds it: ``(φᵀC⁻¹φ, (C + φφᵀ)⁻¹)``.

    .. math:: (C + \phi\phi^\top)^{-1} = C^{-1} - \frac{u u^\top}{1 + \phi^\top u},
       \quad u = C^{-1}\phi

    The rank-one update keeps C⁻¹ symmetric; no per-step symmetrisation.

    Example:
      >>> b, inv = sherman_morrison(jnp.eye(2) * 10.0, jnp.array([1.0, 0.0]))
      >>> round(float(b), 3), round(float(inv[0, 0]), 4)
      (10.0, 0.9091)
    """
    u = inv @ phi
    b = phi @ u
    return b, inv - jnp.outer(u, u) / (1.0 + b)


def e3b(
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
    ridge: float = 0.1,
    score_state: str | None = None,
    zero_first_step: bool | None = None,
) -> IntrinsicBonus:
    r"""E3B: an elliptical episodic bonus in an inverse-dynamics feature space.

    .. math:: r^i_t = \phi(s_{t+1})^\top C_t^{-1} \phi(s_{t+1}), \quad
       C_t = \lambda I + \sum_{i \le t} \phi(s_i)\phi(s_i)^\top

    C is reset every episode (λ = ``ridge`` = 0.1) and seeded with φ(s_0); each
    transition scores the state reached, then adds it (Sherman–Morrison), which
    is the authors' sequence shifted by one step and removes the oversized
    first-step bonus ‖φ‖²/λ. φ is trained by inverse dynamics only. Under
    ``jax_enable_x64`` the ellipsoid is float64 (the bonus is returned float32).

    Args:
      num_envs: N.
      preset: ``None`` or ``"rllte"`` (``score_state="current"``,
        ``zero_first_step=False``, ``obs_eps=0``, ``forward_filter="replace"``
        when ``gamma`` is given).
      beta0: β0 >= 0.
      kappa: κ in [0, 1].
      kappa_unit: ``"update"`` or ``"env_step"``.
      obs_norm: ``"none"`` (default), ``"rms"`` or ``"scale"``.
      obs_eps: RMS epsilon.
      obs_clip: clip of normalised observations.
      reward_norm: default ``"reward_std"``.
      gamma: discount of the return filter (default 0.99).
      forward_filter: ``"scale"`` or ``"replace"``.
      warmup_transitions: statistics-only transitions.
      latent_dim: d, φ's width.
      hidden: hidden width.
      encoder: see :func:`rnd`.
      init: ``"orthogonal"`` or ``"uniform"``.
      learning_rate: Adam learning rate.
      batch_size: minibatch size.
      update_proportion: fraction of samples trained on.
      ridge: λ > 0.
      score_state: ``"next"`` (default, φ(s_{t+1})) or ``"current"`` (φ(s_t),
        scored then added; the anchor and the authors).
      zero_first_step: with ``"current"``, zero the bonus of each episode's first
        step (authors: True, the default; anchor: False).

    Returns:
      The :class:`~rewardkit.intrinsic.IntrinsicBonus` (``episodic``,
      ``needs_action``).

    Example:
      >>> import gymnasium as gym
      >>> bonus = e3b(num_envs=2, latent_dim=4, hidden=8)
      >>> state = bonus.init(jax.random.key(0), gym.spaces.Box(-1, 1, (3,)),
      ...     gym.spaces.Discrete(3))
      >>> state.episodic.inv_cov.shape, bonus.episodic
      ((2, 4, 4), True)

    References:
      Henaff, Raileanu, Jiang and Rocktäschel (2022). Exploration via elliptical
      episodic bonuses. NeurIPS.
    """
    lam = check_positive("ridge", ridge)
    score = pick(score_state, "next", preset, "current")
    check_choice("score_state", score, ("next", "current"))
    zero_first = pick(zero_first_step, True, preset, False)
    check_choice("zero_first_step", zero_first, (True, False))
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
    d, n_env = cfg.latent_dim, cfg.num_envs

    def build(key: jax.Array, spec: Any):
        k_enc, k_inv = jax.random.split(key)
        enc = Encoder(spec, cfg.encoder, d, cfg.hidden, cfg.init, nnx.Rngs(k_enc))
        inv = MLP([2 * d, cfg.hidden, spec.action_dim], cfg.init, nnx.Rngs(k_inv))
        (g_enc, p_enc), (g_inv, p_inv) = nnx.split(enc), nnx.split(inv)
        graphdef = {"encoder": g_enc, "inverse": g_inv}
        return graphdef, {"encoder": p_enc, "inverse": p_inv}, {}

    def dtype():
        return jnp.float64 if jax.config.read("jax_enable_x64") else jnp.float32

    def fresh(dt):
        return jnp.broadcast_to(jnp.eye(d, dtype=dt) / lam, (n_env, d, d))

    def episodic_init(g, params, fixed, spec):
        del g, params, fixed, spec  # an empty ellipsoid per env
        return E3BEpisodic(fresh(dtype()), jnp.ones((n_env,), bool))

    def embed(g, params, x):
        lead = x.shape[: -len(g["spec"].obs_shape)]
        flat = x.reshape(-1, *g["spec"].obs_shape)
        phi = nnx.merge(g["encoder"], params["encoder"])(flat)
        return phi.reshape(*lead, d)

    def batched_step(inv, seed, phi_o, phi_n, done, valid):
        # One step for all N envs, written so that C⁻¹ is read twice (the
        # mat-vec, then one fused select-and-update pass) instead of being
        # materialised after each select: on XLA:CPU the scan is memory bound.
        # A seeding step starts from (λI + φ_o φ_oᵀ)⁻¹ = I/λ − c0 φ_o φ_oᵀ, with
        # c0 = 1/(λ(λ + ‖φ_o‖²)), whose product with any q needs only vectors.
        # Invalid steps score a zero vector, which leaves C⁻¹ unchanged.
        s = seed & valid
        q = jnp.where(valid[:, None], phi_n if score == "next" else phi_o, 0.0)
        av = jnp.einsum("nij,nj->ni", inv, q)
        if score == "next":
            po = jnp.where(s[:, None], phi_o, 0.0)
            c0 = 1.0 / (lam * (lam + jnp.sum(po * po, -1)))
            u_seed = q / lam - (c0 * jnp.sum(po * q, -1))[:, None] * po
        else:
            po, c0 = jnp.zeros_like(q), jnp.zeros(q.shape[:1], q.dtype)
            u_seed = q / lam
        u = jnp.where(s[:, None], u_seed, av)
        b = jnp.sum(q * u, -1)
        eye = jnp.eye(d, dtype=inv.dtype) / lam
        start = jnp.where(
            s[:, None, None],
            eye - c0[:, None, None] * po[:, :, None] * po[:, None, :],
            inv,
        )
        w = u / (1.0 + b)[:, None]
        new = start - w[:, :, None] * u[:, None, :]
        if score == "current" and zero_first:
            b = jnp.where(s, 0.0, b)
        return new, jnp.where(valid, done, seed), b

    def episodic_raw(g, params, fixed, ep, obs_n, act, next_n, done, valid):
        del fixed, act  # E3B scores embeddings only
        dt = ep.inv_cov.dtype
        phi_o = embed(g, params, obs_n).astype(dt)
        # "current" scores and stores φ(s_t) only: no second encoder pass.
        phi_n = embed(g, params, next_n).astype(dt) if score == "next" else phi_o

        def step(carry, xs):
            inv, seed = carry
            inv, seed, b = batched_step(inv, seed, *xs)
            return (inv, seed), b

        (inv, seed), b = jax.lax.scan(
            step, (ep.inv_cov, ep.needs_seed), (phi_o, phi_n, done, valid)
        )
        return b.astype(jnp.float32), E3BEpisodic(inv, seed), {}

    def episodic_reset(g, params, fixed, ep, mask, obs_n):
        del fixed  # E3B has no fixed network
        dt = ep.inv_cov.dtype
        empty = fresh(dt)
        if score == "next":
            phi = embed(g, params, obs_n).astype(dt)
            seeded = jax.vmap(lambda a, p: sherman_morrison(a, p)[1])(empty, phi)
            m = mask[:, None, None]
            return E3BEpisodic(jnp.where(m, seeded, ep.inv_cov), ep.needs_seed & ~mask)
        return E3BEpisodic(
            jnp.where(mask[:, None, None], empty, ep.inv_cov), ep.needs_seed | mask
        )

    def loss(g, fixed, params, mb, mask, key):
        del fixed, key  # trained by inverse dynamics only
        phi = nnx.merge(g["encoder"], params["encoder"])(mb["obs"])
        phi_next = nnx.merge(g["encoder"], params["encoder"])(mb["next_obs"])
        logits = nnx.merge(g["inverse"], params["inverse"])(
            jnp.concatenate([phi, phi_next], -1)
        )
        l_inv = masked_mean(g["spec"].inverse_loss(logits, mb["action"]), mask)
        return l_inv, {"inverse_loss": l_inv}

    method = Method(
        name="e3b",
        build=build,
        loss=loss,
        optimizer=optax.adam(cfg.learning_rate),
        needs_action=True,
        episodic_init=episodic_init,
        episodic_raw=episodic_raw,
        episodic_reset=episodic_reset,
    )
    return make_bonus(method, cfg)
