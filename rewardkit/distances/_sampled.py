"""Sample-based EPIC, DARD and STARC-VAL for large or continuous spaces.

Rewards are callables ``reward_fn(s, a, s_next) -> r`` vectorised over a leading
axis (JAX-traceable ones are jitted, NumPy ones run eagerly). Both rewards are
evaluated on the same samples (paired keys).

What each estimator needs: EPIC needs R at arbitrary (s, a, s'); DARD and
STARC-VAL need a simulator or model (``next_state``); STARC-VAL also needs V^π of
each reward, given (``value_fn``) or fitted by TD(0) (``fit_value_td``, in
``_td.py``; the estimator itself is in ``_sampled_val.py``).

Monte-Carlo norms of noise are positive, so every estimate is **biased upward**:
a shaped reward whose true distance is 0 still gets a positive value (the
authors' Reacher runs report 0.69–0.90). ``Estimate.noise_floor`` estimates that
bias: the distance between R1 and R1 plus a random linear shaping on the same
samples; read estimates relative to it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from rewardkit.core import check_positive_int
from rewardkit.distances._mdp import TabularMDP

__all__ = [
    "Estimate",
    "Sampler",
    "sampled_dard_distance",
    "sampled_epic_distance",
    "tabular_samplers",
]


class Sampler(NamedTuple):
    """``sample(key, n) -> pytree`` with a leading axis n.

    Attributes:
      sample: the sampling function.
    """

    sample: Callable[[jax.Array, int], Any]


class Estimate(NamedTuple):
    """A Monte-Carlo distance estimate.

    Attributes:
      value: the mean over seeds.
      stderr: the standard error over seeds (0 for one seed).
      noise_floor: the estimated distance between R1 and R1 + γΦ(s') − Φ(s) for
        a random linear Φ on the same samples (true value 0): the upward bias.
    """

    value: float
    stderr: float
    noise_floor: float


_COMPILED: dict = {}
_EAGER_ERRORS = (
    jax.errors.TracerArrayConversionError,
    jax.errors.ConcretizationTypeError,
)


def _eager(fn: Callable[..., Any]) -> Callable[..., jax.Array]:
    return lambda *args: jnp.asarray(fn(*(np.asarray(x) for x in args)))


def _traced(fn: Callable[..., Any]) -> Callable[..., jax.Array]:
    return fn


def _run_seeds(
    build: Callable,
    cache_key: tuple,
    key: jax.Array,
    n_seeds: int,
    args: tuple = (),
    eager_ok: bool = True,
):
    """Runs ``build(wrap)(seed_key, *args) -> (value, floor)`` over seeds.

    JAX-traceable callables: one jitted program per configuration, cached (so
    repeated calls with the same callables and samplers never recompile). NumPy
    callables: the same code eagerly, converting their inputs to NumPy (unless
    ``eager_ok`` is False: then the tracing error propagates).
    """
    keys = jax.random.split(key, check_positive_int("n_seeds", n_seeds))
    fn = _COMPILED.get(cache_key)
    if fn is None:
        fn = jax.jit(build(_traced))
    try:
        out = [fn(k, *args) for k in keys]
        if len(_COMPILED) > 64:
            _COMPILED.clear()
        _COMPILED[cache_key] = fn
    except _EAGER_ERRORS:
        if not eager_ok:
            raise
        eager = build(_eager)
        out = [eager(k, *args) for k in keys]
    values = [float(v) for v, _ in out]
    floors = [float(f) for _, f in out]
    return _summary(values, floors)


def tabular_samplers(mdp: TabularMDP) -> dict[str, Any]:
    """Samplers of a tabular MDP: D_S, D_A, coverage (s, a) × T, model, features.

    Args:
      mdp: the MDP (its ``state_dist``/``action_dist`` if set, else uniform).

    Returns:
      ``{"state": Sampler, "action": Sampler, "coverage": Sampler,
      "next_state": (key, s, a) -> s', "features": (s) -> [n, S] one-hot}`` over
      int32 states and actions. ``coverage`` is uniform over (s, a), so as TD
      data (:func:`fit_value_td`) it evaluates the uniform policy.

    Example:
      >>> from rewardkit.distances import make_mdp
      >>> smp = tabular_samplers(make_mdp(np.full((3, 2, 3), 1 / 3), 0.9))
      >>> s, a, s2 = smp["coverage"].sample(jax.random.key(0), 5)
      >>> s.shape, int(smp["next_state"](jax.random.key(1), s, a).shape[0])
      ((5,), 5)
    """
    t = jnp.asarray(np.asarray(mdp.transitions, np.float64), jnp.float32)
    s_n, a_n, _ = t.shape
    ds = None if mdp.state_dist is None else jnp.log(jnp.asarray(mdp.state_dist))
    da = None if mdp.action_dist is None else jnp.log(jnp.asarray(mdp.action_dist))

    def draw(key, n, logits, size):
        if logits is None:
            return jax.random.randint(key, (n,), 0, size, jnp.int32)
        return jax.random.categorical(key, logits, shape=(n,)).astype(jnp.int32)

    def next_state(key, s, a):
        logits = jnp.log(t[s, a])
        return jax.random.categorical(key, logits).astype(jnp.int32)

    def coverage(key, n):
        k1, k2, k3 = jax.random.split(key, 3)
        s = jax.random.randint(k1, (n,), 0, s_n, jnp.int32)
        a = jax.random.randint(k2, (n,), 0, a_n, jnp.int32)
        return s, a, next_state(k3, s, a)

    return {
        "state": Sampler(lambda key, n: draw(key, n, ds, s_n)),
        "action": Sampler(lambda key, n: draw(key, n, da, a_n)),
        "coverage": Sampler(coverage),
        "next_state": next_state,
        "features": lambda s: jax.nn.one_hot(s, s_n, dtype=jnp.float32),
    }


def _unit(v: jax.Array) -> jax.Array:
    """``v`` over its empirical RMS norm (0 where the norm is 0)."""
    n = jnp.sqrt(jnp.mean(v * v))
    return jnp.where(n > 0, v / jnp.where(n > 0, n, 1.0), 0.0)


def _pearson(x: jax.Array, y: jax.Array) -> jax.Array:
    """Stable D_ρ = ½‖x̂ − ŷ‖ under the empirical distribution."""

    def std(v):
        return _unit(v - jnp.mean(v))

    return 0.5 * jnp.sqrt(jnp.mean((std(x) - std(y)) ** 2))


def _shaped(f: Callable[..., Any], phi: Callable, gamma: float) -> Callable:
    """``f`` shaped by the potential ``phi``: ``f(x, u, y) + γΦ(y) − Φ(x)``."""

    def shaped(x, u, y):
        return f(x, u, y) + gamma * phi(y) - phi(x)

    return shaped


def _pearson_and_floor(canon: Callable, f1, f2, phi, gamma: float):
    """D_ρ of the canonicalised rewards, and of ``f1`` against ``f1`` shaped by Φ.

    The second is the estimator's noise floor (exactly 0 for an exact canon).
    """
    c1 = canon(f1)
    return _pearson(c1, canon(f2)), _pearson(c1, canon(_shaped(f1, phi, gamma)))


def _random_potential(key: jax.Array, example: Any) -> Callable[[Any], jax.Array]:
    feat = int(np.prod(np.shape(example)[1:]))  # shapes only: s may be traced
    w = jax.random.normal(key, (feat,))

    def phi(x):
        x = jnp.asarray(x, jnp.float32)
        return x.reshape(x.shape[0], -1) @ w

    return phi


def _summary(values: list, floors: list) -> Estimate:
    """Mean, standard error and mean noise floor over seeds."""
    v = np.asarray(values, np.float64)
    se = float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else 0.0
    return Estimate(float(v.mean()), se, float(np.mean(floors)))


def _coverage(sampler: Sampler, key: jax.Array, n: int, ignore_terminations: bool):
    out = sampler.sample(key, n)
    s, a, s2 = out[0], out[1], out[2]
    done = out[3] if len(out) > 3 and not ignore_terminations else None
    live = 1.0 if done is None else 1.0 - jnp.asarray(done, jnp.float32)
    return s, a, s2, live


def _repeat(x: Any, n: int) -> Any:
    return jnp.repeat(jnp.asarray(x), n, axis=0)


def _tile(x: Any, n: int) -> Any:
    x = jnp.asarray(x)
    return jnp.tile(x, (n,) + (1,) * (x.ndim - 1))


def sampled_epic_distance(
    key: jax.Array,
    reward_fn1: Callable[..., Any],
    reward_fn2: Callable[..., Any],
    *,
    gamma: float,
    state_sampler: Sampler,
    action_sampler: Sampler,
    coverage_sampler: Sampler,
    n_samples: int = 4096,
    n_coverage: int = 4096,
    n_seeds: int = 3,
    ignore_terminations: bool = False,
) -> Estimate:
    """Sample-based D_EPIC ([EPIC-code] ``epic_sample.py``).

    Per seed: M pairs (u_j, x'_j) ~ D_A⊗D_S and M states x_i ~ D_S give
    m̂(x) = mean_j R(x, u_j, x'_j); on B coverage samples,
    Ĉ = R(s,a,s') + γm̂(s') − m̂(s) − γ·mean_i m̂(x_i), then the stable D_ρ. Costs
    2BM + M² reward calls per reward. m̂(s') is 0 where the coverage sampler's
    optional 4th output ``terminated`` is set, unless ``ignore_terminations``
    ([EPIC-code] rewrites dones to False). Biased upward (see the module notes).

    Args:
      key: PRNG key (the same samples serve both rewards).
      reward_fn1: ``(s, a, s') -> r``, vectorised.
      reward_fn2: likewise.
      gamma: γ.
      state_sampler: D_S.
      action_sampler: D_A.
      coverage_sampler: ``(s, a, s'[, terminated])`` batches.
      n_samples: M.
      n_coverage: B.
      n_seeds: independent repetitions.
      ignore_terminations: treat every transition as non-terminal.

    Returns:
      :class:`Estimate`.

    Example:
      >>> from rewardkit.distances import make_mdp
      >>> smp = tabular_samplers(make_mdp(np.full((3, 2, 3), 1 / 3), 0.9))
      >>> table = jnp.asarray(np.random.default_rng(0).normal(size=(3, 2, 3)))
      >>> def r1(s, a, s2): return table[s, a, s2]
      >>> def r2(s, a, s2): return -table[s, a, s2]
      >>> est = sampled_epic_distance(jax.random.key(0), r1, r2, gamma=0.9,
      ...     state_sampler=smp["state"], action_sampler=smp["action"],
      ...     coverage_sampler=smp["coverage"], n_samples=64, n_coverage=64)
      >>> round(est.value, 3)
      1.0
    """
    m = check_positive_int("n_samples", n_samples)
    b = check_positive_int("n_coverage", n_coverage)

    def build(wrap):
        f1, f2 = wrap(reward_fn1), wrap(reward_fn2)

        def one(k):
            ks = jax.random.split(k, 5)
            xs, us = state_sampler.sample(ks[0], m), action_sampler.sample(ks[1], m)
            x2s = state_sampler.sample(ks[2], m)
            s, a, s2, live = _coverage(coverage_sampler, ks[3], b, ignore_terminations)
            phi = _random_potential(ks[4], s)

            def m_hat(f, x):
                n = jnp.shape(x)[0]
                vals = f(_repeat(x, m), _tile(us, n), _tile(x2s, n))
                return jnp.mean(jnp.reshape(vals, (n, m)), axis=1)

            def canon(f):
                return (
                    f(s, a, s2)
                    + gamma * live * m_hat(f, s2)
                    - m_hat(f, s)
                    - gamma * jnp.mean(m_hat(f, xs))
                )

            return _pearson_and_floor(canon, f1, f2, phi, gamma)

        return one

    cache = (
        "epic",
        reward_fn1,
        reward_fn2,
        float(gamma),
        state_sampler,
        action_sampler,
        coverage_sampler,
        m,
        b,
        ignore_terminations,
    )
    return _run_seeds(build, cache, key, n_seeds)


def sampled_dard_distance(
    key: jax.Array,
    reward_fn1: Callable[..., Any],
    reward_fn2: Callable[..., Any],
    *,
    gamma: float,
    action_sampler: Sampler,
    coverage_sampler: Sampler,
    next_state: Callable[..., Any],
    n_samples: int = 4096,
    n_coverage: int = 4096,
    n_seeds: int = 3,
) -> Estimate:
    """Sample-based D_DARD ([STARC-code] ``src/continuous/canon/dard.py``).

    Per coverage sample (s, a, s') and M actions u_j ~ D_A: S'_j ~ T(s, u_j) and
    S''_j ~ T(s', u_j) (the same u_j in both draws); û(x) = mean_j R(x, u_j,
    X'_j), K̂ = mean_j R(S'_j, u_j, S''_j) and Ĉ = R + γû(s') − û(s) − γK̂, then
    the stable D_ρ under the coverage. Needs a simulator or model
    (``next_state(key, s, a) -> s'``, vectorised). Biased upward.

    Args:
      key: PRNG key.
      reward_fn1: ``(s, a, s') -> r``, vectorised.
      reward_fn2: likewise.
      gamma: γ.
      action_sampler: D_A.
      coverage_sampler: ``(s, a, s')`` batches.
      next_state: ``(key, s, a) -> s'``.
      n_samples: M.
      n_coverage: B.
      n_seeds: repetitions.

    Returns:
      :class:`Estimate`.

    Example:
      >>> from rewardkit.distances import make_mdp
      >>> smp = tabular_samplers(make_mdp(np.full((3, 2, 3), 1 / 3), 0.9))
      >>> table = jnp.asarray(np.random.default_rng(0).normal(size=(3, 2, 3)))
      >>> def r1(s, a, s2): return table[s, a, s2]
      >>> est = sampled_dard_distance(jax.random.key(0), r1, r1, gamma=0.9,
      ...     action_sampler=smp["action"], coverage_sampler=smp["coverage"],
      ...     next_state=smp["next_state"], n_samples=32, n_coverage=32)
      >>> est.value
      0.0
    """
    m = check_positive_int("n_samples", n_samples)
    b = check_positive_int("n_coverage", n_coverage)

    def build(wrap):
        f1, f2 = wrap(reward_fn1), wrap(reward_fn2)

        def one(k):
            ks = jax.random.split(k, 5)
            s, a, s2, _ = _coverage(coverage_sampler, ks[0], b, True)
            us = _tile(action_sampler.sample(ks[1], m), b)  # same u_j per row
            rs, rs2 = _repeat(s, m), _repeat(s2, m)
            x1 = next_state(ks[2], rs, us)  # S' ~ T(s, u)
            x2 = next_state(ks[3], rs2, us)  # S'' ~ T(s', u)
            phi = _random_potential(ks[4], s)

            def canon(f):
                u_s = jnp.mean(jnp.reshape(f(rs, us, x1), (b, m)), axis=1)
                u_s2 = jnp.mean(jnp.reshape(f(rs2, us, x2), (b, m)), axis=1)
                kk = jnp.mean(jnp.reshape(f(x1, us, x2), (b, m)), axis=1)
                return f(s, a, s2) + gamma * u_s2 - u_s - gamma * kk

            return _pearson_and_floor(canon, f1, f2, phi, gamma)

        return one

    cache = (
        "dard",
        reward_fn1,
        reward_fn2,
        float(gamma),
        action_sampler,
        coverage_sampler,
        next_state,
        m,
        b,
    )
    return _run_seeds(build, cache, key, n_seeds)
