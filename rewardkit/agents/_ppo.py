"""PPO with separate extrinsic and intrinsic value heads: config, network, maths.

The learner is an ``(init, act, update)`` NamedTuple of pure functions over an
explicit :class:`PPOState`; :mod:`rewardkit.agents._ppo_train` runs it jitted.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from rewardkit.agents._ppo_maths import (
    ACTIVATIONS,
    apply_network,
    gae,
    init_network,
    masked_mean,
    policy_loss,
    value_loss,
)
from rewardkit.core import ConfigError, Transition, check_gamma, valid_mask

__all__ = [
    "Config",
    "PPOLearner",
    "PPOState",
    "gae",
    "make_learner",
    "policy_loss",
    "value_loss",
]


@dataclasses.dataclass(frozen=True)
class Config:
    """PPO hyper-parameters; defaults are the RLeXplore paper's MiniGrid Table 3.

    Example:
      >>> cfg = Config(num_envs=8, rollout_len=16, num_minibatches=2)
      >>> cfg.batch_size, cfg.minibatch_size
      (128, 64)
    """

    num_envs: int = 256
    """parallel environments N (per seed)"""
    rollout_len: int = 32
    """steps T per environment between updates"""
    num_updates: int = 122
    """PPO updates in one ``train`` call (T·N env steps each)"""
    update_epochs: int = 4
    """passes over each rollout"""
    num_minibatches: int = 8
    """minibatches per epoch; must divide T·N"""
    lr: float = 2.5e-4
    """Adam learning rate"""
    adam_eps: float = 1e-5
    """Adam epsilon"""
    max_grad_norm: float = 0.5
    """global-norm gradient clip"""
    anneal_lr: bool = False
    """linearly decay the learning rate to 0 over training"""
    gamma: float = 0.99
    """extrinsic discount γ_E"""
    gamma_intrinsic: float = 0.99
    """intrinsic discount γ_I"""
    gae_lambda: float = 0.95
    """GAE λ (both streams)"""
    clip_eps: float = 0.2
    """policy ratio clip ε"""
    value_clip: float | None = 0.1
    """value clip around the rollout's values; None: unclipped squared error"""
    vf_coef: float = 0.5
    """value-loss coefficient (applied to the sum of both heads' losses)"""
    ent_coef: float = 0.01
    """entropy bonus coefficient"""
    ext_coef: float = 1.0
    """c_E, weight of the extrinsic advantage"""
    int_coef: float = 1.0
    """c_I, weight of the intrinsic advantage"""
    normalize_advantages: bool = True
    """normalise the combined advantage per minibatch"""
    value_heads: int = 2
    """with a bonus: 2 = separate V_E/V_I heads; 1 = one head on r + r^i (RQ6)"""
    intrinsic_episodic: bool | None = None
    """cut intrinsic returns at episode ends; None: the bonus's ``episodic``"""
    shared_torso: bool = True
    """one torso for policy and values; False: separate actor and critic MLPs"""
    hidden: tuple[int, ...] = (64, 64)
    """hidden layer widths of the torso (each of actor and critic if separate)"""
    activation: str = "tanh"
    """hidden activation: "tanh" or "relu\""""
    warmup_rollouts: int | None = None
    """random-action rollouts that warm up the bonus's observation statistics
    before training (not counted in the budget); None: enough for the bonus's
    ``warmup_transitions`` (0 without a bonus)"""

    def __post_init__(self):
        for name in ("num_envs", "rollout_len", "num_updates", "update_epochs"):
            _check_int(name, getattr(self, name), 1)
        _check_int("num_minibatches", self.num_minibatches, 1)
        if self.batch_size % self.num_minibatches:
            raise ConfigError(
                f"`num_minibatches` must divide num_envs * rollout_len = "
                f"{self.batch_size}; got {self.num_minibatches}."
            )
        for name in ("lr", "adam_eps", "max_grad_norm", "clip_eps"):
            if not float(getattr(self, name)) > 0:
                raise ConfigError(f"`{name}` must be > 0; got {getattr(self, name)!r}.")
        for name in ("vf_coef", "ent_coef", "ext_coef", "int_coef"):
            if not float(getattr(self, name)) >= 0:
                raise ConfigError(
                    f"`{name}` must be >= 0; got {getattr(self, name)!r}."
                )
        check_gamma("gamma", self.gamma)
        check_gamma("gamma_intrinsic", self.gamma_intrinsic)
        check_gamma("gae_lambda", self.gae_lambda)
        if self.value_clip is not None and not float(self.value_clip) > 0:
            raise ConfigError(
                f"`value_clip` must be > 0 or None; got {self.value_clip!r}."
            )
        if self.value_heads not in (1, 2):
            raise ConfigError(
                f"`value_heads` must be 1 or 2; got {self.value_heads!r}."
            )
        if self.activation not in ACTIVATIONS:
            raise ConfigError(
                f"`activation` must be one of {sorted(ACTIVATIONS)}; "
                f"got {self.activation!r}."
            )
        if not (
            isinstance(self.hidden, tuple)
            and all(isinstance(h, int) and h > 0 for h in self.hidden)
        ):
            raise ConfigError(
                f"`hidden` must be a tuple of positive ints; got {self.hidden!r}."
            )
        if self.warmup_rollouts is not None:
            _check_int("warmup_rollouts", self.warmup_rollouts, 0)

    @property
    def batch_size(self) -> int:
        """T·N transitions per update."""
        return self.num_envs * self.rollout_len

    @property
    def minibatch_size(self) -> int:
        """T·N / num_minibatches."""
        return self.batch_size // self.num_minibatches

    @property
    def total_steps(self) -> int:
        """Env steps per seed in one ``train`` call (warm-up excluded)."""
        return self.batch_size * self.num_updates

    @classmethod
    def rnd_preset(cls, **overrides: Any) -> Config:
        """RND §3.2's settings: advantage 2·A_E + 1·A_I, γ_E = 0.999.

        Example:
          >>> c = Config.rnd_preset(num_envs=4, rollout_len=4, num_minibatches=1)
          >>> c.ext_coef, c.gamma
          (2.0, 0.999)
        """
        return cls(**{"ext_coef": 2.0, "int_coef": 1.0, "gamma": 0.999, **overrides})


def _check_int(name: str, value: Any, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"`{name}` must be an int >= {low}; got {value!r}.")


# -- learner ------------------------------------------------------------------------


class PPOState(NamedTuple):
    """State of the PPO learner.

    Attributes:
      params: network parameters (dict of float32 arrays).
      opt_state: optax state.
      key: PRNG key for minibatch shuffling.
      update_count: ``[]`` int32, number of ``update`` calls.
    """

    params: Any
    opt_state: Any
    key: jax.Array
    update_count: jax.Array


class PPOLearner(NamedTuple):
    """PPO as pure functions; built by :func:`make_learner`.

    * ``init(key) -> PPOState``;
    * ``act(state, obs, key) -> (action, state)``: samples the policy;
    * ``update(state, batch) -> (state, metrics)``: one PPO update on a ``[T, N]``
      :class:`rewardkit.core.Transition` in time order whose ``extras`` hold
      ``log_prob`` and ``value`` (V_E(s_t)) from the rollout, plus
      ``intrinsic_reward`` and ``value_int`` with a bonus, and ``last_value_int``
      (``[N]``, V_I of the observation after the rollout) for non-episodic
      intrinsic returns. ``next_obs`` must be the pre-reset final observation:
      truncations bootstrap from V(next_obs).
    * ``apply(params, obs) -> (logits, v_ext, v_int)``.

    Attributes:
      init: see above.
      act: see above.
      update: see above.
      apply: see above.
      reward_mode: ``"extrinsic"`` (no bonus), ``"two_heads"`` or ``"sum"``.
      intrinsic_episodic: intrinsic returns are cut at episode ends.
    """

    init: Any
    act: Any
    update: Any
    apply: Any
    reward_mode: str
    intrinsic_episodic: bool


def make_learner(
    config: Config,
    obs_shape: tuple[int, ...],
    num_actions: int,
    *,
    bonus_episodic: bool | None = None,
) -> PPOLearner:
    """Builds the PPO ``(init, act, update)`` learner.

    Args:
      config: the hyper-parameters.
      obs_shape: the shape of one observation (flattened for the MLP).
      num_actions: size of the ``Discrete`` action space.
      bonus_episodic: None for plain PPO (one value head); else the bonus's
        ``episodic`` flag (overridden by ``config.intrinsic_episodic``).

    Returns:
      A :class:`PPOLearner`.

    Example:
      >>> cfg = Config(num_envs=2, rollout_len=2, num_minibatches=1, hidden=(8,))
      >>> learner = make_learner(cfg, (3,), 4)
      >>> state = learner.init(jax.random.key(0))
      >>> action, state = learner.act(state, jnp.zeros((2, 3)), jax.random.key(1))
      >>> action.shape, learner.reward_mode
      ((2,), 'extrinsic')
    """
    obs_shape = tuple(int(d) for d in obs_shape)
    obs_dim = 1
    for d in obs_shape:
        obs_dim *= d
    if bonus_episodic is None:
        mode, episodic = "extrinsic", True
    else:
        mode = "two_heads" if config.value_heads == 2 else "sum"
        episodic = (
            bool(bonus_episodic)
            if config.intrinsic_episodic is None
            else bool(config.intrinsic_episodic)
        )
    n_values = 2 if mode == "two_heads" else 1
    steps = config.num_updates * config.update_epochs * config.num_minibatches
    lr = optax.linear_schedule(config.lr, 0.0, steps) if config.anneal_lr else config.lr
    tx = optax.chain(
        optax.clip_by_global_norm(config.max_grad_norm),
        optax.adam(lr, eps=config.adam_eps),
    )

    def flat(obs):
        obs = jnp.asarray(obs, jnp.float32)
        return obs.reshape((*obs.shape[: obs.ndim - len(obs_shape)], obs_dim))

    def apply(params, obs):
        return apply_network(params, flat(obs), config)

    def init(key):
        k_net, k_state = jax.random.split(key)
        params = init_network(k_net, obs_dim, num_actions, config, n_values)
        return PPOState(params, tx.init(params), k_state, jnp.zeros((), jnp.int32))

    def act(state, obs, key):
        logits, _, _ = apply(state.params, obs)
        return jax.random.categorical(key, logits), state

    def loss_fn(params, mb):
        logits, v_e, v_i = apply(params, mb["obs"])
        logp_all = jax.nn.log_softmax(logits)
        logp = jnp.take_along_axis(logp_all, mb["action"][..., None], -1)[..., 0]
        mask = mb["valid"]
        adv = mb["adv"]
        if config.normalize_advantages:
            mean = masked_mean(adv, mask)
            std = jnp.sqrt(masked_mean(jnp.square(adv - mean), mask))
            adv = (adv - mean) / (std + 1e-8)
        pg = policy_loss(logp, mb["log_prob"], adv, config.clip_eps, mask)
        vl_e = value_loss(v_e, mb["value"], mb["ret_e"], config.value_clip, mask)
        vl_i = jnp.zeros(())
        if mode == "two_heads":
            vl_i = value_loss(
                v_i, mb["value_int"], mb["ret_i"], config.value_clip, mask
            )
        ent = masked_mean(-jnp.sum(jnp.exp(logp_all) * logp_all, -1), mask)
        total = pg + config.vf_coef * (vl_e + vl_i) - config.ent_coef * ent
        log_ratio = logp - mb["log_prob"]
        kl = masked_mean(jnp.exp(log_ratio) - 1.0 - log_ratio, mask)
        clip_frac = masked_mean(
            (jnp.abs(jnp.exp(log_ratio) - 1.0) > config.clip_eps).astype(jnp.float32),
            mask,
        )
        aux = {
            "loss": total,
            "policy_loss": pg,
            "value_loss": vl_e,
            "value_loss_int": vl_i,
            "entropy": ent,
            "approx_kl": kl,
            "clip_frac": clip_frac,
        }
        return total, aux

    def advantages(params, batch: Transition):
        ex = batch.extras
        _, nv_e, nv_i = apply(params, batch.next_obs)
        reward = jnp.asarray(batch.reward, jnp.float32)
        if mode == "sum":
            reward = reward + ex["intrinsic_reward"]
        adv_e, ret_e = gae(
            reward,
            ex["value"],
            nv_e,
            batch.terminated,
            batch.truncated,
            config.gamma,
            config.gae_lambda,
        )
        if mode != "two_heads":
            return adv_e, ret_e, jnp.zeros_like(ret_e)
        r_i = ex["intrinsic_reward"]
        if episodic:
            term, trunc, next_vi = batch.terminated, batch.truncated, nv_i
        else:  # RND §2.3: the intrinsic stream runs on through resets
            next_vi = jnp.concatenate([ex["value_int"][1:], ex["last_value_int"][None]])
            term = trunc = jnp.zeros_like(r_i, bool)
        adv_i, ret_i = gae(
            r_i,
            ex["value_int"],
            next_vi,
            term,
            trunc,
            config.gamma_intrinsic,
            config.gae_lambda,
        )
        adv = config.ext_coef * adv_e + config.int_coef * adv_i
        return adv, ret_e, ret_i

    def update(state: PPOState, batch: Transition):
        _check_extras(batch, mode, episodic)
        adv, ret_e, ret_i = advantages(state.params, batch)
        ex = batch.extras
        data = {
            "obs": batch.obs,
            "action": jnp.asarray(batch.action, jnp.int32),
            "log_prob": ex["log_prob"],
            "value": ex["value"],
            "value_int": ex.get("value_int", jnp.zeros_like(ret_e)),
            "ret_e": ret_e,
            "ret_i": ret_i,
            "adv": adv,
            "valid": valid_mask(batch),
        }
        lead = adv.shape
        size = adv.size
        data = jax.tree.map(lambda x: x.reshape((size, *x.shape[len(lead) :])), data)
        n_mb = config.num_minibatches
        if size % n_mb:
            raise ConfigError(
                f"`num_minibatches` {n_mb} must divide the batch size {size}."
            )
        grad_fn = jax.value_and_grad(loss_fn, has_aux=True)

        def epoch(carry, key):
            params, opt_state = carry
            perm = jax.random.permutation(key, size)
            shuffled = jax.tree.map(
                lambda x: x[perm].reshape((n_mb, size // n_mb, *x.shape[1:])), data
            )

            def minibatch(carry, mb):
                params, opt_state = carry
                (_, aux), grads = grad_fn(params, mb)
                upd, opt_state = tx.update(grads, opt_state, params)
                return (optax.apply_updates(params, upd), opt_state), aux

            return jax.lax.scan(minibatch, (params, opt_state), shuffled)

        key, sub = jax.random.split(state.key)
        keys = jax.random.split(sub, config.update_epochs)
        (params, opt_state), aux = jax.lax.scan(
            epoch, (state.params, state.opt_state), keys
        )
        metrics = jax.tree.map(jnp.mean, aux)
        new = PPOState(params, opt_state, key, state.update_count + 1)
        return new, metrics

    return PPOLearner(init, act, update, apply, mode, episodic)


def _check_extras(batch: Transition, mode: str, episodic: bool) -> None:
    need = ["log_prob", "value"]
    if mode != "extrinsic":
        need.append("intrinsic_reward")
    if mode == "two_heads":
        need.append("value_int")
        if not episodic:
            need.append("last_value_int")
    missing = [n for n in need if n not in batch.extras]
    if missing:
        raise KeyError(
            f"PPO update needs `extras` {need} in its Transition; missing {missing} "
            f"(has {sorted(batch.extras)})."
        )
