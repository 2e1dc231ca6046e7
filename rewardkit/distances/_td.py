"""TD(0) fit of V^π for the sample-based STARC-VAL estimator.

One flax-NNX MLP (one hidden ReLU layer) with K heads, one per reward: VAL is
linear in R, so K rewards share the hidden layer. Defaults follow [STARC-code]
``src/continuous/sarsa.py``: 128 hidden units, Huber loss (δ = 1), AdamW at
lr 1e-4 (torch's weight decay 0.01), gradients clipped at 100, batch 128; plus a
soft target network, τ = 0.005. The whole fit is one ``lax.scan`` over TD steps
inside one jitted program, compiled once per configuration.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from rewardkit.core import (
    ConfigError,
    Transition,
    check_gamma,
    check_in_range,
    check_non_negative,
    check_positive,
    check_positive_int,
)

__all__ = ["ValueFit", "fit_value_td"]

_TRACE_ERRORS = (
    jax.errors.TracerArrayConversionError,
    jax.errors.ConcretizationTypeError,
)


class _MLP(nnx.Module):
    """``features -> hidden (ReLU) -> heads``."""

    def __init__(self, n_in: int, hidden: int, n_out: int, rngs: nnx.Rngs):
        self.hidden = nnx.Linear(n_in, hidden, rngs=rngs)
        self.out = nnx.Linear(hidden, n_out, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.out(jax.nn.relu(self.hidden(x)))


def _featurise(features: Callable[[Any], Any] | None, s: Any) -> jax.Array:
    """``features(s)`` or, by default, every leaf of ``s`` flattened to float32."""
    if features is not None:
        x = jnp.asarray(features(s), jnp.float32)
    else:
        leaves = jax.tree.leaves(s)
        n = jnp.shape(leaves[0])[0]
        x = jnp.concatenate(
            [jnp.reshape(jnp.asarray(v, jnp.float32), (n, -1)) for v in leaves], 1
        )
    if x.ndim != 2:
        raise ConfigError(f"`features` must return [n, F] arrays; got shape {x.shape}.")
    return x


class _ValueNet(NamedTuple):
    """The static half of a :class:`ValueFit`: ``(params, s) -> V``.

    Hashable (a graph definition, a callable, an int), so equal networks share
    compiled code.
    """

    graphdef: Any
    features: Callable[[Any], Any] | None
    head: int | None

    def __call__(self, params: Any, s: Any) -> jax.Array:
        v = nnx.merge(self.graphdef, params)(_featurise(self.features, s))
        return v if self.head is None else v[:, self.head]


class ValueFit(NamedTuple):
    """A fitted value function: ``fit(s) -> V(s)``, a pure ``apply`` plus ``params``.

    Pass it (one head) as ``value_fn1``/``value_fn2`` of
    :func:`~rewardkit.distances.sampled_starc_val_distance`: its parameters then
    enter the compiled estimator as arguments, so new fits never recompile it.

    Attributes:
      apply: static, pure ``(params, s) -> [n]`` (one head) or ``[n, K]``.
      params: the network's ``nnx.State`` (a pytree of float32 arrays).
      losses: ``[steps, K]`` float32, each head's mean TD loss per step (Huber,
        or half the squared error); it keeps the targets' noise, so it does not
        go to 0.

    Example:
      >>> data = Transition(obs=jnp.zeros((4, 1)), action=jnp.zeros(4),
      ...     reward=jnp.ones((4, 2)), next_obs=jnp.zeros((4, 1)),
      ...     terminated=jnp.zeros(4, bool), truncated=jnp.zeros(4, bool))
      >>> fit = fit_value_td(jax.random.key(0), gamma=0.5, transitions=data,
      ...     steps=3, hidden=4)
      >>> fit(jnp.zeros((5, 1))).shape, fit.head(1)(jnp.zeros((5, 1))).shape
      ((5, 2), (5,))
    """

    apply: Callable[[Any, Any], jax.Array]
    params: Any
    losses: jax.Array

    def __call__(self, s: Any) -> jax.Array:
        """V at a batch of states: ``[n]`` (one head) or ``[n, K]``."""
        return self.apply(self.params, s)

    @property
    def n_heads(self) -> int:
        """K, the number of rewards fitted (heads of the network)."""
        return int(self.losses.shape[-1])

    def head(self, k: int) -> ValueFit:
        """The fit of reward ``k`` alone: ``(s) -> [n]``."""
        if not (isinstance(k, int) and 0 <= k < self.n_heads):
            raise ConfigError(f"`k` must be an int in [0, {self.n_heads}); got {k!r}.")
        return self._replace(apply=self.apply._replace(head=k))


class _TDConfig(NamedTuple):
    gamma: float
    hidden: int
    lr: float
    weight_decay: float
    batch_size: int
    tau: float
    steps: int
    huber_delta: float | None


def next_live(next_state: Callable[..., Any], key: jax.Array, s: Any, a: Any):
    """``next_state(key, s, a)`` as ``(s', live)``; it may return ``(s', done)``.

    Shared with the STARC-VAL estimator (as are :func:`fit_core`,
    :func:`td_config`, :func:`sampler_draw` and :func:`value_head`).
    """
    out = next_state(key, s, a)
    if isinstance(out, tuple):
        return out[0], 1.0 - jnp.asarray(out[1], jnp.float32)
    return out, jnp.ones(jnp.shape(jax.tree.leaves(s)[0])[:1], jnp.float32)


class _SamplerDraw(NamedTuple):
    """Fresh on-policy transitions per TD step; rewards ``(s, a, s', live) -> r``.

    Hashable, so it can be a static argument of the jitted fit.
    """

    rewards: tuple[Callable[..., Any], ...]
    sampler: Any
    policy: Callable[..., Any] | None
    next_state: Callable[..., Any] | None
    ignore_terminations: bool

    def __call__(self, data: Any, key: jax.Array, n: int):
        del data  # Everything comes from the sampler.
        k1, k2, k3 = jax.random.split(key, 3)
        out = self.sampler.sample(k1, n)
        s = out[0]
        if self.policy is None and len(out) < 2:
            raise ConfigError("`transition_sampler` yields no actions; pass `policy`.")
        a = out[1] if self.policy is None else self.policy(k2, s)
        if self.policy is None and len(out) > 2:  # the sampler's own s'
            s2, live = out[2], jnp.ones((n,), jnp.float32)
            if len(out) > 3:
                live = 1.0 - jnp.asarray(out[3], jnp.float32)
        elif self.next_state is not None:
            s2, live = next_live(self.next_state, k3, s, a)
        else:
            raise ConfigError(
                "`transition_sampler` yields no s'; pass `next_state(key, s, a)`."
            )
        if self.ignore_terminations:
            live = jnp.ones((n,), jnp.float32)
        r = jnp.stack([_reward_column(f(s, a, s2, live), n) for f in self.rewards], 1)
        return s, r, s2, live


def _reward_column(r: Any, n: int) -> jax.Array:
    r = jnp.asarray(r, jnp.float32)
    if r.shape != (n,):
        raise ConfigError(
            f"`reward_fn` must return one reward per sample, shape ({n},); "
            f"got shape {r.shape}."
        )
    return r


def _dataset_draw(data: Any, key: jax.Array, n: int):
    """A minibatch (with replacement) of a fixed transition set."""
    s, r, s2, live = data
    idx = jax.random.randint(key, (n,), 0, r.shape[0])
    pick = lambda t: jax.tree.map(lambda v: v[idx], t)  # noqa: E731
    return pick(s), r[idx], pick(s2), live[idx]


def fit_core(key, data, draw, features, cfg: _TDConfig):
    """The traceable fit: ``(params, losses [steps, K], graphdef)``."""
    k_init, k_run = jax.random.split(key)
    b = cfg.batch_size

    def first(k):
        s, r, _, _ = draw(data, k, b)
        return _featurise(features, s), r

    x_shape, r_shape = jax.eval_shape(first, k_run)
    if x_shape.shape[0] != b:
        raise ConfigError(
            f"`features` must keep the batch axis ({b}); got shape {x_shape.shape}."
        )
    model = _MLP(x_shape.shape[1], cfg.hidden, r_shape.shape[1], nnx.Rngs(k_init))
    graphdef, params = nnx.split(model)
    net = _ValueNet(graphdef, features, None)
    opt = optax.chain(
        optax.clip(100.0), optax.adamw(cfg.lr, weight_decay=cfg.weight_decay)
    )

    def step(carry, k):
        params, target, opt_state = carry
        s, r, s2, live = draw(data, k, b)
        y = jax.lax.stop_gradient(r + cfg.gamma * live[:, None] * net(target, s2))

        def loss_fn(p):
            err = net(p, s) - y
            if cfg.huber_delta is None:
                per_head = jnp.mean(0.5 * err * err, 0)
            else:
                per_head = jnp.mean(optax.huber_loss(err, delta=cfg.huber_delta), 0)
            return jnp.sum(per_head), per_head  # heads learn independently

        grads, per_head = jax.grad(loss_fn, has_aux=True)(params)
        updates, opt_state = opt.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        target = jax.tree.map(lambda t, p: t + cfg.tau * (p - t), target, params)
        return (params, target, opt_state), per_head

    carry = (params, params, opt.init(params))
    (params, _, _), losses = jax.lax.scan(
        step, carry, jax.random.split(k_run, cfg.steps)
    )
    return params, losses, graphdef


def value_head(graphdef: Any, features: Any, params: Any, k: int) -> Callable:
    """``(s) -> [n]``: head ``k`` of a network fitted by :func:`fit_core`."""
    net = _ValueNet(graphdef, features, k)
    return lambda s: net(params, s)


TD_OPTIONS = (
    "batch_size",
    "features",
    "huber_delta",
    "hidden",
    "ignore_terminations",
    "lr",
    "policy",
    "steps",
    "tau",
    "weight_decay",
)


def _plain(f: Callable[..., Any]) -> Callable[..., Any]:
    """A public ``(s, a, s') -> r`` as the internal ``(s, a, s', live) -> r``."""

    def reward(s, a, s2, live):
        del live  # A plain reward does not depend on episode ends.
        return f(s, a, s2)

    return reward


_PLAIN: dict = {}


def _plain_cached(f: Callable[..., Any]) -> Callable[..., Any]:
    """:func:`_plain`, memoised so that equal inputs give equal (hashable) draws."""
    if f not in _PLAIN:
        if len(_PLAIN) > 256:
            _PLAIN.clear()
        _PLAIN[f] = _plain(f)
    return _PLAIN[f]


def td_config(
    gamma: Any,
    *,
    hidden: int = 128,
    lr: float = 1e-4,
    weight_decay: float = 0.01,
    batch_size: int = 128,
    tau: float = 0.005,
    steps: int = 10_000,
    huber_delta: float | None = 1.0,
) -> _TDConfig:
    """Validates the TD hyper-parameters (private helper shared with STARC-VAL)."""
    return _TDConfig(
        check_gamma("gamma", gamma, allow_one=False),
        check_positive_int("hidden", hidden),
        check_positive("lr", lr),
        check_non_negative("weight_decay", weight_decay),
        check_positive_int("batch_size", batch_size),
        check_in_range("tau", check_positive("tau", tau), 0.0, 1.0),
        check_positive_int("steps", steps),
        None if huber_delta is None else check_positive("huber_delta", huber_delta),
    )


def sampler_draw(
    rewards: Sequence[Callable[..., Any]],
    sampler: Any,
    policy: Callable[..., Any] | None,
    next_state: Callable[..., Any] | None,
    ignore_terminations: bool,
) -> _SamplerDraw:
    """Validates a sampler-mode draw (private helper shared with STARC-VAL)."""
    if not callable(getattr(sampler, "sample", None)):
        raise TypeError(
            "`transition_sampler` must be a Sampler yielding (s, a, s'[, terminated]);"
            f" got {type(sampler).__name__}."
        )
    if policy is not None and not callable(next_state):
        raise ConfigError("`policy` needs `next_state(key, s, a) -> s'`; got None.")
    return _SamplerDraw(
        tuple(rewards), sampler, policy, next_state, bool(ignore_terminations)
    )


_FIT = jax.jit(fit_core, static_argnames=("draw", "features", "cfg"))


def _as_rewards(reward_fn: Any) -> tuple[list[Callable[..., Any]], bool]:
    if callable(reward_fn):
        return [reward_fn], True
    if isinstance(reward_fn, Sequence) and reward_fn and all(map(callable, reward_fn)):
        return list(reward_fn), False
    raise TypeError(
        "`reward_fn` must be a callable (s, a, s') -> r or a non-empty sequence of "
        f"them; got {type(reward_fn).__name__}."
    )


def _dataset(transitions: Any, reward_fn: Any, ignore_terminations: bool):
    """``(s, r [N, K], s', live)`` of a fixed transition set, validated."""
    if not isinstance(transitions, Transition):
        raise TypeError(
            "`transitions` must be a rewardkit.core.Transition; "
            f"got {type(transitions).__name__}."
        )
    s, s2 = transitions.obs, transitions.next_obs
    n = int(np.shape(jax.tree.leaves(s)[0])[0])
    if reward_fn is not None:
        fns, single = _as_rewards(reward_fn)
        rows = [jnp.asarray(f(s, transitions.action, s2)) for f in fns]
        r = jnp.stack([_reward_column(v, n) for v in rows], 1)
    elif transitions.reward is None:
        raise ConfigError("`transitions.reward` is None; pass `reward_fn`.")
    else:
        r = jnp.asarray(transitions.reward, jnp.float32)
        single = r.ndim == 1
        r = r[:, None] if single else r
        if r.ndim != 2 or r.shape[0] != n:
            raise ConfigError(
                f"`transitions.reward` must have shape ({n},) or ({n}, K); "
                f"got {r.shape}."
            )
    if not bool(jnp.all(jnp.isfinite(r))):
        raise ConfigError("`transitions` rewards must be finite; got NaN or inf.")
    done = jnp.broadcast_to(jnp.asarray(transitions.terminated, bool), (n,))
    done = done & (not ignore_terminations)
    return (s, jnp.asarray(r, jnp.float32), s2, 1.0 - done.astype(jnp.float32)), single


def fit_value_td(
    key: jax.Array,
    reward_fn: Any = None,
    *,
    gamma: float,
    transition_sampler: Any = None,
    transitions: Transition | None = None,
    policy: Callable[..., Any] | None = None,
    next_state: Callable[..., Any] | None = None,
    features: Callable[[Any], Any] | None = None,
    hidden: int = 128,
    lr: float = 1e-4,
    weight_decay: float = 0.01,
    batch_size: int = 128,
    tau: float = 0.005,
    steps: int = 10_000,
    huber_delta: float | None = 1.0,
    ignore_terminations: bool = False,
) -> ValueFit:
    r"""Fits V^π of one or K rewards by TD(0) with a K-head MLP (host function).

    Each step draws a batch (s, a, s', terminated), forms the target
    y = R(s, a, s') + γ·(1 − terminated)·V̄(s') with the soft target network V̄,
    takes an AdamW step on the Huber loss of V(s) − y (summed over heads, so each
    head learns its own reward), and moves V̄ ← V̄ + τ(V − V̄). The policy π is
    that of the data: the sampler's actions (``transition_sampler``), ``policy``
    (with ``next_state``), or the behaviour policy of ``transitions``.
    Sampler mode draws fresh transitions every step (``steps·batch_size·K``
    reward calls) and needs JAX-traceable callables; ``transitions`` mode draws
    minibatches with replacement from a fixed set whose rewards are computed once
    (so NumPy reward callables work there). With enough coverage and capacity the
    fixed point is the exact V^π on the visited states (one-hot features of a
    tabular MDP are exact); the error shrinks as ``steps`` grows and as ``lr``
    and the target lag (1/τ steps) allow.

    Args:
      key: PRNG key (initialisation and minibatches).
      reward_fn: ``(s, a, s') -> r [n]``, vectorised, or a sequence of K of them
        (one head each); in ``transitions`` mode, None uses
        ``transitions.reward`` (``[N]`` or ``[N, K]``).
      gamma: γ in [0, 1).
      transition_sampler: a Sampler yielding ``(s, a, s'[, terminated])`` with
        a ~ π(s) (e.g. ``tabular_samplers(mdp)["coverage"]``: uniform π), or
        ``(s, a)`` with ``next_state``.
      transitions: a fixed ``rewardkit.core.Transition`` set with leading axis N
        (``obs``, ``action``, ``next_obs``, ``terminated``; ``reward``).
      policy: optional ``(key, s) -> a``, vectorised: re-draws the sampler's
        actions, with s' from ``next_state``.
      next_state: ``(key, s, a) -> s'`` or ``(s', terminated)``; needed with
        ``policy`` or a sampler without s'.
      features: ``(s) -> [n, F]`` network inputs (e.g. one-hot tabular states);
        default: the leaves of s flattened to float32.
      hidden: hidden units.
      lr: AdamW learning rate.
      weight_decay: AdamW weight decay.
      batch_size: transitions per step.
      tau: soft target update rate in (0, 1].
      steps: TD steps (one ``lax.scan``).
      huber_delta: the Huber loss threshold.
      ignore_terminations: bootstrap through ``terminated`` transitions.

    Returns:
      :class:`ValueFit`: ``fit(s)`` is ``[n]`` for one reward callable (or a 1-D
      ``transitions.reward``), else ``[n, K]`` with ``fit.head(k)`` per reward.

    Raises:
      ConfigError: bad hyper-parameters, γ outside [0, 1), both or neither of
        ``transition_sampler`` and ``transitions``, wrong reward or feature shapes.
      TypeError: non-callable rewards, or NumPy callables in sampler mode.

    Example:
      >>> from rewardkit.distances import make_mdp, tabular_samplers
      >>> smp = tabular_samplers(make_mdp(np.full((2, 1, 2), 0.5), 0.5))
      >>> fit = fit_value_td(jax.random.key(0), lambda s, a, s2: 1.0 + 0.0 * s,
      ...     gamma=0.5, transition_sampler=smp["coverage"],
      ...     features=smp["features"], hidden=8, lr=1e-2, tau=0.1, steps=300)
      >>> np.round(fit(jnp.arange(2)), 1).tolist()  # V = 1 / (1 - 0.5)
      [2.0, 2.0]
    """
    cfg = td_config(
        gamma,
        hidden=hidden,
        lr=lr,
        weight_decay=weight_decay,
        batch_size=batch_size,
        tau=tau,
        steps=steps,
        huber_delta=huber_delta,
    )
    if (transition_sampler is None) == (transitions is None):
        raise ConfigError(
            "Pass exactly one of `transition_sampler` and `transitions`; got "
            f"{'both' if transitions is not None else 'neither'}."
        )
    if transitions is not None:
        if policy is not None:
            raise ConfigError("`policy` applies to `transition_sampler` mode only.")
        data, single = _dataset(transitions, reward_fn, ignore_terminations)
        draw = _dataset_draw
    else:
        if reward_fn is None:
            raise ConfigError("`reward_fn` is required with `transition_sampler`.")
        fns, single = _as_rewards(reward_fn)
        rewards = [_plain_cached(f) for f in fns]
        draw = sampler_draw(
            rewards, transition_sampler, policy, next_state, ignore_terminations
        )
        data = None
    try:
        params, losses, graphdef = _FIT(key, data, draw, features, cfg)
    except _TRACE_ERRORS as err:
        raise TypeError(
            "fit_value_td with `transition_sampler` needs JAX-traceable reward, "
            "sampler, policy and feature callables; for NumPy rewards pass a fixed "
            "`transitions` set instead."
        ) from err
    return ValueFit(
        _ValueNet(graphdef, features, 0 if single else None), params, losses
    )
