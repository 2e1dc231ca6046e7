"""Sample-based STARC-VAL, with exact, given or TD-fitted values V^π.

See :mod:`rewardkit.distances._sampled` for the shared conventions (paired
samples, jitted or eager callables, the upward bias and ``noise_floor``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp

from rewardkit.core import ConfigError, check_positive_int
from rewardkit.distances._sampled import (
    _EAGER_ERRORS,
    Estimate,
    Sampler,
    _random_potential,
    _repeat,
    _run_seeds,
    _unit,
)
from rewardkit.distances._td import (
    TD_OPTIONS,
    ValueFit,
    fit_core,
    next_live,
    sampler_draw,
    td_config,
    value_head,
)

__all__ = ["sampled_starc_val_distance"]


def sampled_starc_val_distance(
    key: jax.Array,
    reward_fn1: Callable[..., Any],
    reward_fn2: Callable[..., Any],
    *,
    gamma: float,
    coverage_sampler: Sampler,
    next_state: Callable[..., Any],
    value_fn1: Callable[[Any], Any] | ValueFit | None = None,
    value_fn2: Callable[[Any], Any] | ValueFit | None = None,
    td_options: Mapping[str, Any] | None = None,
    n_next: int = 1,
    n_coverage: int = 4096,
    n_seeds: int = 3,
) -> Estimate:
    """Sample-based STARC-VAL with L2 ([STARC-code] ``src/continuous/canon/val.py``).

    Â(s, a) = mean_k[R(s, a, s'_k) + γV(s'_k)] − V(s) with s'_k ~ next_state
    (k = 1 for deterministic dynamics; V(s'_k) = 0 where ``next_state`` reports
    ``terminated``) on B coverage pairs (s, a); n̂ = √mean Â² and
    d = √mean(Â1/n̂1 − Â2/n̂2)². V^π of each reward is ``value_fn`` (exact values,
    or a :class:`ValueFit`) or, when both are None, a TD(0) fit per seed
    (:func:`fit_value_td` on ``coverage_sampler``'s transitions, so π is its
    action distribution, with ``td_options``): one 3-head network for R1, R2
    and the noise floor's shaped R1, costing ``steps·batch_size`` transitions
    and 3 reward calls each per seed (1–2.5 s per seed at the defaults on the
    loaded 2-core CPU, after compiling). Biased upward; a fitted V adds its own
    error, which the noise floor then includes.

    Args:
      key: PRNG key.
      reward_fn1: ``(s, a, s') -> r``, vectorised.
      reward_fn2: likewise.
      gamma: γ.
      coverage_sampler: yields ``(s, a, ...)``; Â uses s and a, the TD fit
        ``(s, a, s'[, terminated])``.
      next_state: ``(key, s, a) -> s'`` or ``(s', terminated)``.
      value_fn1: ``(s) -> V^π_{R1}(s)``, vectorised, or a one-head ValueFit;
        None (with ``value_fn2`` None) fits it.
      value_fn2: likewise for R2.
      td_options: keyword arguments of :func:`fit_value_td` for the fit
        (``features``, ``policy``, ``steps``, ``lr``, ...).
      n_next: next-state samples per (s, a).
      n_coverage: B.
      n_seeds: repetitions.

    Returns:
      :class:`Estimate` (distance in [0, 2]).

    Example:
      >>> import numpy as np
      >>> from rewardkit.distances import (cached_policy_evaluation, make_mdp,
      ...     tabular_samplers)
      >>> mdp = make_mdp(np.full((3, 2, 3), 1 / 3), 0.9)
      >>> smp = tabular_samplers(mdp)
      >>> table = jnp.asarray(np.random.default_rng(0).normal(size=(3, 2, 3)))
      >>> v = cached_policy_evaluation(table, mdp)
      >>> est = sampled_starc_val_distance(jax.random.key(0),
      ...     lambda s, a, s2: table[s, a, s2], lambda s, a, s2: -table[s, a, s2],
      ...     gamma=0.9, value_fn1=lambda s: v[s], value_fn2=lambda s: -v[s],
      ...     coverage_sampler=smp["coverage"], next_state=smp["next_state"],
      ...     n_next=4, n_coverage=64)
      >>> round(est.value, 3)
      2.0
    """
    kn = check_positive_int("n_next", n_next)
    b = check_positive_int("n_coverage", n_coverage)
    fitting = value_fn1 is None
    if fitting != (value_fn2 is None):
        raise ConfigError("Pass both `value_fn1` and `value_fn2`, or neither (fit).")
    opts = dict(td_options or {})
    if not fitting and opts:
        raise ConfigError("`td_options` applies only when the values are fitted.")
    unknown = set(opts) - set(TD_OPTIONS)
    if unknown:
        raise ConfigError(f"`td_options` got unknown keys {sorted(unknown)}.")
    features, policy = opts.pop("features", None), opts.pop("policy", None)
    ignore = bool(opts.pop("ignore_terminations", False))
    cfg = td_config(gamma, **opts) if fitting else None
    statics = [
        v.apply if isinstance(v, ValueFit) else v for v in (value_fn1, value_fn2)
    ]
    params = [
        v.params if isinstance(v, ValueFit) else None for v in (value_fn1, value_fn2)
    ]

    def build(wrap):
        f1, f2 = wrap(reward_fn1), wrap(reward_fn2)

        def one(k, p1, p2):
            ks = jax.random.split(k, 4)
            out = coverage_sampler.sample(ks[0], b)
            s, a = out[0], out[1]
            rs, ra = _repeat(s, kn), _repeat(a, kn)
            s2, live = next_live(next_state, ks[1], rs, ra)
            if ignore:  # the convention the values were fitted under
                live = jnp.ones_like(live)
            phi = _random_potential(ks[2], s)

            def shaped(x, u, y, alive):  # Φ(s⊥) = 0: no γΦ(s') at episode ends
                return f1(x, u, y) + gamma * alive * phi(y) - phi(x)

            if fitting:
                rewards = [lambda x, u, y, _: f1(x, u, y)]
                rewards += [lambda x, u, y, _: f2(x, u, y), shaped]
                draw = sampler_draw(
                    rewards, coverage_sampler, policy, next_state, ignore
                )
                p, _, graph = fit_core(ks[3], None, draw, features, cfg)
                v1, v2, v3 = (value_head(graph, features, p, i) for i in range(3))
            else:
                v1, v2 = (
                    _value(wrap(f) if p is None else f, p)
                    for f, p in zip(statics, (p1, p2), strict=True)
                )
                v3 = lambda x: v1(x) - phi(x)  # noqa: E731 - shaping shifts V^π by −Φ

            def adv(f, v):
                q = f(rs, ra, s2, live) + gamma * live * v(s2)
                return jnp.reshape(q, (b, kn)).mean(axis=1) - v(s)

            a1 = _unit(adv(lambda x, u, y, _: f1(x, u, y), v1))
            a2 = _unit(adv(lambda x, u, y, _: f2(x, u, y), v2))
            floor = jnp.sqrt(jnp.mean((a1 - _unit(adv(shaped, v3))) ** 2))
            return jnp.sqrt(jnp.mean((a1 - a2) ** 2)), floor

        return one

    cache = ("val", reward_fn1, reward_fn2, *statics, float(gamma), coverage_sampler)
    cache += (next_state, kn, b, cfg, features, policy, ignore)
    try:
        return _run_seeds(build, cache, key, n_seeds, params, not fitting)
    except _EAGER_ERRORS as err:
        if not fitting:
            raise
        raise TypeError(
            "Fitting V (value_fn1=value_fn2=None) needs JAX-traceable callables; "
            "pass value_fn1/value_fn2 for NumPy rewards."
        ) from err


def _value(fn: Callable[..., Any], params: Any) -> Callable[[Any], jax.Array]:
    """A value callable ``(s) -> [n]``; ``fn`` takes ``params`` first if given."""

    def v(x):
        out = jnp.asarray(fn(x) if params is None else fn(params, x))
        if out.ndim != 1:
            raise ConfigError(
                f"`value_fn` must return [n] values (one head); got shape {out.shape}."
            )
        return out

    return v
