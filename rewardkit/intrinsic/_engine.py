"""The shared engine: turns a method's networks and formulas into a bonus.

Each bonus module (ICM, RND, Disagreement, E3B) describes its networks
(``build``), its raw score (``raw`` for lifelong bonuses, ``episodic_*`` for
episodic ones) and its loss; :func:`make_bonus` adds observation normalisation,
warm-up, reward normalisation, the β schedule, the training epoch and the
snapshot rule, and returns the :class:`~rewardkit.intrinsic.IntrinsicBonus`.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax

from rewardkit.core import (
    ConfigError,
    Transition,
    check_choice,
    check_gamma,
    check_in_range,
    check_non_negative,
    check_positive,
    check_positive_int,
    init_running_stats,
)
from rewardkit.intrinsic._base import BonusState, IntrinsicBonus
from rewardkit.intrinsic._nets import INITS, check_encoder, resolve_encoder
from rewardkit.intrinsic._norm import (
    OBS_NORMS,
    REWARD_NORMS,
    beta,
    masked_update,
    normalize_obs,
    normalize_reward,
)
from rewardkit.intrinsic._spaces import Spec, check_batch, make_spec
from rewardkit.intrinsic._train import train_epoch

__all__ = ["Common", "Method", "common_config", "make_bonus", "pick"]

PRESETS = (None, "rllte")
# init runs once: compile it quickly rather than well (3x less compile time).
_FAST_COMPILE = {
    "xla_backend_optimization_level": 0,
    "xla_llvm_disable_expensive_passes": True,
}


@jax.tree_util.register_static
@dataclasses.dataclass(frozen=True)
class Common:
    """Settings shared by every bonus (checked by :func:`common_config`)."""

    num_envs: int
    beta0: float
    kappa: float
    kappa_unit: str
    obs_norm: str
    obs_eps: float
    obs_clip: float
    reward_norm: str
    gamma: float
    forward_filter: str
    warmup_transitions: int
    latent_dim: int
    hidden: int
    encoder: str
    init: str
    learning_rate: float
    batch_size: int
    update_proportion: float
    #: ``obs_norm="none"`` divides uint8 images by 255 when a CNN encodes them, as
    #: the anchor's does (``preset="rllte"``).
    none_scales_images: bool = False


def pick(value: Any, default: Any, preset: str | None, rllte: Any) -> Any:
    """An argument's value: explicit, else the preset's, else rewardkit's default."""
    if value is not None:
        return value
    return rllte if preset == "rllte" else default


def common_config(
    *,
    num_envs: Any,
    preset: Any,
    beta0: Any,
    kappa: Any,
    kappa_unit: Any,
    obs_norm: Any,
    obs_eps: Any,
    obs_clip: Any,
    reward_norm: Any,
    gamma: Any,
    forward_filter: Any,
    warmup_transitions: Any,
    latent_dim: Any,
    hidden: Any,
    encoder: Any,
    init: Any,
    learning_rate: Any,
    batch_size: Any,
    update_proportion: Any,
) -> Common:
    """Checks the shared keyword arguments eagerly (names in every message)."""
    check_positive_int("num_envs", num_envs)
    check_choice("preset", preset, PRESETS)
    check_non_negative("beta0", beta0)
    check_in_range("kappa", kappa, 0.0, 1.0)
    check_choice("kappa_unit", kappa_unit, ("update", "env_step"))
    check_choice("obs_norm", obs_norm, OBS_NORMS)
    obs_eps = pick(obs_eps, 1e-8, preset, 0.0)
    check_non_negative("obs_eps", obs_eps)
    check_positive("obs_clip", obs_clip)
    check_choice("reward_norm", reward_norm, REWARD_NORMS)
    if preset == "rllte" and reward_norm == "minmax":
        reward_norm = "minmax_batch"
    # The anchor replaces rewards by their filtered return only when given a gamma.
    rllte_filter = "replace" if gamma is not None else "scale"
    gamma = 0.99 if gamma is None else gamma
    check_gamma("gamma", gamma)
    forward_filter = pick(forward_filter, "scale", preset, rllte_filter)
    check_choice("forward_filter", forward_filter, ("scale", "replace"))
    if warmup_transitions is None:
        warmup_transitions = 2560 * num_envs if obs_norm == "rms" else 0
    if isinstance(warmup_transitions, bool) or not isinstance(warmup_transitions, int):
        raise ConfigError(
            f"`warmup_transitions` must be an integer >= 0; got {warmup_transitions!r}."
        )
    if warmup_transitions < 0:
        raise ConfigError(
            f"`warmup_transitions` must be an integer >= 0; got {warmup_transitions!r}."
        )
    check_positive_int("latent_dim", latent_dim)
    check_positive_int("hidden", hidden)
    check_encoder(encoder)
    check_choice("init", init, INITS)
    check_positive("learning_rate", learning_rate)
    check_positive_int("batch_size", batch_size)
    check_in_range("update_proportion", update_proportion, 0.0, 1.0)
    if update_proportion <= 0:
        raise ConfigError(
            f"`update_proportion` must be a number in (0, 1]; got {update_proportion!r}."
        )
    return Common(
        int(num_envs),
        float(beta0),
        float(kappa),
        kappa_unit,
        obs_norm,
        float(obs_eps),
        float(obs_clip),
        reward_norm,
        float(gamma),
        forward_filter,
        int(warmup_transitions),
        int(latent_dim),
        int(hidden),
        encoder,
        init,
        float(learning_rate),
        int(batch_size),
        float(update_proportion),
        none_scales_images=preset == "rllte",
    )


@dataclasses.dataclass(frozen=True)
class Method:
    """A method's parts; see the module docstring.

    ``build(key, spec) -> (graphdefs, params, fixed)``;
    ``raw(g, params, fixed, obs_n, act, next_n) -> (raw [B], info)`` (lifelong);
    ``loss(g, fixed, params, minibatch, mask, key) -> (loss, metrics)``;
    ``episodic_init(g, params, fixed, spec) -> per-env pytree [N, ...]``;
    ``episodic_raw(g, params, fixed, ep, obs_n, act, next_n, done, valid)
    -> (raw [T, N], ep, info)``; ``episodic_reset(g, params, fixed, ep, mask, obs_n)``.
    """

    name: str
    build: Callable[..., tuple[dict, Any, Any]]
    loss: Callable[..., tuple[jax.Array, dict]] | None
    optimizer: optax.GradientTransformation | None
    needs_action: bool
    raw: Callable[..., tuple[jax.Array, dict]] | None = None
    episodic_init: Callable[..., Any] | None = None
    episodic_raw: Callable[..., tuple[jax.Array, Any, dict]] | None = None
    episodic_reset: Callable[..., Any] | None = None


def _select(pred: jax.Array, on_true: Any, on_false: Any) -> Any:
    return jax.tree.map(lambda a, b: jnp.where(pred, a, b), on_true, on_false)


def make_bonus(method: Method, cfg: Common) -> IntrinsicBonus:
    """Builds the :class:`IntrinsicBonus` of a method under the shared settings."""
    episodic = method.episodic_raw is not None
    trainable = method.loss is not None
    who_c, who_u = f"{method.name}.compute", f"{method.name}.update"

    def norm(x: Any, snapshot: Any, spec: Spec) -> jax.Array:
        mode = cfg.obs_norm
        if mode == "none" and cfg.none_scales_images and _cnn_on_uint8(spec):
            mode = "scale"
        return normalize_obs(x, snapshot, mode, eps=cfg.obs_eps, clip=cfg.obs_clip)

    def _cnn_on_uint8(spec: Spec) -> bool:
        # The anchor divides by 255 exactly when it runs a CNN (rank-3 inputs);
        # its flat setting (an MLP on flattened images) sees raw values.
        if spec.obs_kind != "image" or not spec.obs_uint8:
            return False
        return resolve_encoder(cfg.encoder, spec) != "mlp"

    def build_state(spec: Spec, key: jax.Array) -> BonusState:
        k_build, key = jax.random.split(key)
        graphdef, params, fixed = method.build(k_build, spec)
        graphdef = {**graphdef, "spec": spec, "config": cfg}
        opt_state = method.optimizer.init(params) if trainable else ()
        ep = ()
        if episodic:
            ep = method.episodic_init(graphdef, params, fixed, spec)
        obs_stats = init_running_stats(spec.obs_shape)
        rew_stats = init_running_stats()
        return BonusState(
            graphdef=graphdef,
            params=params,
            fixed=fixed,
            opt_state=opt_state,
            obs_stats=obs_stats,
            obs_snapshot=obs_stats,
            rew_stats=rew_stats,
            rew_snapshot=rew_stats,
            rew_range=jnp.array([jnp.inf, -jnp.inf], jnp.float32),
            rew_range_snapshot=jnp.array([jnp.inf, -jnp.inf], jnp.float32),
            ret_filter=jnp.zeros((cfg.num_envs,), jnp.float32),
            episodic=ep,
            key=key,
            update_count=jnp.zeros((), jnp.int32),
            beta_t=jnp.zeros((), jnp.float32),
            beta0=jnp.asarray(cfg.beta0, jnp.float32),
            kappa=jnp.asarray(cfg.kappa, jnp.float32),
        )

    # One compiled builder per (static) space: eager NNX construction dispatches
    # hundreds of small ops, a jitted one compiles once (threefry and QR dominate).
    builders: dict[Spec, Callable[[jax.Array], BonusState]] = {}

    def init(key: jax.Array, obs_spec: Any, action_spec: Any) -> BonusState:
        spec = make_spec(obs_spec, action_spec, needs_action=method.needs_action)
        if cfg.obs_norm == "scale" and not spec.obs_uint8:
            raise ValueError(
                "`obs_norm` 'scale' divides uint8 images by 255; `obs_spec` has dtype "
                f"{obs_spec.dtype}. Use 'rms' or 'none'."
            )
        key = jnp.asarray(key)
        if not jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
            key = jax.random.wrap_key_data(key)
        if isinstance(key, jax.core.Tracer):
            # Inside an outer jit/vmap (a jitted training loop): build inline, since
            # compiler options are only allowed on a top-level jax.jit.
            return build_state(spec, key)
        if spec not in builders:
            builders[spec] = jax.jit(
                functools.partial(build_state, spec), compiler_options=_FAST_COMPILE
            )
        return builders[spec](key)

    def _prepare(state: BonusState, batch: Transition, who: str):
        if not isinstance(state, BonusState):
            raise TypeError(
                f"{who}: `state` must be the BonusState returned by init; got "
                f"{type(state).__name__}."
            )
        spec: Spec = state.graphdef["spec"]
        t, n = check_batch(
            batch, spec, cfg.num_envs, needs_action=method.needs_action, who=who
        )
        valid = jnp.broadcast_to(jnp.asarray(batch.valid, bool), (t, n))
        warming = state.obs_snapshot.count < cfg.warmup_transitions
        obs_n = norm(batch.obs, state.obs_snapshot, spec)
        next_n = norm(batch.next_obs, state.obs_snapshot, spec)
        act = spec.encode_action(batch.action) if method.needs_action else None
        return spec, t, n, valid, warming, obs_n, next_n, act

    def compute(state: BonusState, batch: Transition):
        _, t, n, valid, warming, obs_n, next_n, act = _prepare(state, batch, who_c)
        if cfg.reward_norm == "minmax_batch" and t == 1:
            raise ValueError(
                f"{who_c}: `reward_norm` 'minmax_batch' needs a batch with T > 1 "
                "(it rescales by the batch's own min and max); got T=1. Use 'minmax'."
            )
        g, p, f = state.graphdef, state.params, state.fixed
        done = jnp.logical_or(batch.terminated, batch.truncated)
        if episodic:
            raw, ep, info = method.episodic_raw(
                g, p, f, state.episodic, obs_n, act, next_n, done, valid
            )
        else:
            flat = lambda x: None if x is None else x.reshape(t * n, *x.shape[2:])  # noqa: E731
            raw, info = method.raw(g, p, f, flat(obs_n), flat(act), flat(next_n))
            raw = raw.reshape(t, n)
            info = {k: v.reshape(t, n, *v.shape[1:]) for k, v in info.items()}
            ep = state.episodic
        raw = jnp.where(valid, raw.astype(jnp.float32), 0.0)
        obs_stats = state.obs_stats
        if cfg.obs_norm == "rms":
            obs_stats = masked_update(obs_stats, batch.next_obs, valid)
        use = valid & ~warming
        # The reward scale comes from the previous rollouts' statistics (snapshot
        # rule): until one rollout has been measured, the bonus is 0 as well.
        if cfg.reward_norm in ("return_std", "reward_std"):
            scale_known = state.rew_snapshot.count >= 1.0
        elif cfg.reward_norm == "minmax":
            scale_known = jnp.all(jnp.isfinite(state.rew_range_snapshot))
        else:
            scale_known = jnp.bool_(True)
        out, rew_stats, rew_range, ret_filter = normalize_reward(
            raw,
            use,
            mode=cfg.reward_norm,
            filter_mode=cfg.forward_filter,
            gamma=cfg.gamma,
            rew_stats=state.rew_stats,
            rew_snapshot=state.rew_snapshot,
            rew_range=state.rew_range,
            rew_range_snapshot=state.rew_range_snapshot,
            ret_filter=state.ret_filter,
        )
        b = beta(state.beta0, state.kappa, state.beta_t)
        bonus = jnp.where(use & scale_known, b * out, 0.0).astype(jnp.float32)
        new = state._replace(
            obs_stats=obs_stats,
            rew_stats=rew_stats,
            rew_range=rew_range,
            ret_filter=ret_filter,
            episodic=ep,
        )
        warming_up = warming | ~scale_known
        return bonus, new, {"raw": raw, "warming_up": warming_up, **info}

    def update(state: BonusState, batch: Transition):
        _, t, n, valid, warming, obs_n, next_n, act = _prepare(state, batch, who_u)
        key, k_epoch = jax.random.split(state.key)
        params, opt_state, metrics = state.params, state.opt_state, {}
        if trainable:
            flat = lambda x: x.reshape(t * n, *x.shape[2:])  # noqa: E731
            data = {"obs": flat(obs_n), "next_obs": flat(next_n)}
            if method.needs_action:
                data["act"] = flat(act)
                data["action"] = jax.tree.map(flat, jnp.asarray(batch.action))
            loss = functools.partial(method.loss, state.graphdef, state.fixed)
            new_p, new_o, metrics = train_epoch(
                k_epoch,
                params,
                opt_state,
                method.optimizer,
                loss,
                data,
                flat(valid),
                batch_size=cfg.batch_size,
                proportion=cfg.update_proportion,
            )
            # Warm-up: statistics only (no gradient step).
            params = _select(warming, params, new_p)
            opt_state = _select(warming, opt_state, new_o)
        finite = jnp.all(jnp.isfinite(state.rew_range))
        step = (
            jnp.float32(1.0)
            if cfg.kappa_unit == "update"
            else jnp.sum(valid).astype(jnp.float32)
        )
        new = state._replace(
            params=params,
            opt_state=opt_state,
            obs_snapshot=state.obs_stats,
            rew_snapshot=state.rew_stats,
            rew_range=jnp.array([jnp.inf, -jnp.inf], jnp.float32),
            rew_range_snapshot=jnp.where(
                finite, state.rew_range, state.rew_range_snapshot
            ),
            key=key,
            update_count=state.update_count + 1,
            beta_t=state.beta_t + step,
        )
        metrics = {**metrics, "warming_up": warming}
        return new, metrics

    def reset(state: BonusState, mask: Any, obs: Any) -> BonusState:
        if not episodic:
            del mask, obs  # Lifelong bonus: nothing is per-episode.
            return state
        mask = jnp.asarray(mask, bool)
        if mask.shape != (cfg.num_envs,):
            raise ValueError(
                f"{method.name}.reset: `mask` must have shape ({cfg.num_envs},); "
                f"got {mask.shape}."
            )
        spec: Spec = state.graphdef["spec"]
        want = (cfg.num_envs, *spec.obs_shape)
        if tuple(jnp.shape(obs)) != want:
            raise ValueError(
                f"{method.name}.reset: `obs` must have shape {want}; "
                f"got {tuple(jnp.shape(obs))}."
            )
        ep = method.episodic_reset(
            state.graphdef,
            state.params,
            state.fixed,
            state.episodic,
            mask,
            norm(obs, state.obs_snapshot, spec),
        )
        return state._replace(episodic=ep)

    return IntrinsicBonus(
        init,
        compute,
        update,
        reset,
        episodic=episodic,
        needs_action=method.needs_action,
        trainable=trainable,
        num_envs=cfg.num_envs,
        name=method.name,
    )
