"""STARC distances: functional (init/apply) form, one-shot host functions, pairwise."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from rewardkit.core import ConfigError, check_choice
from rewardkit.distances import canon as _canon
from rewardkit.distances._mdp import TabularMDP
from rewardkit.distances._norms import (
    NormSpec,
    norm_spec,
    resolve_weights,
    standardise,
    weighted_norm,
)
from rewardkit.distances._rewards import check_reward

__all__ = [
    "DistOut",
    "DistState",
    "RewardDistance",
    "canonicalise",
    "starc",
    "starc_distance",
]


class DistOut(NamedTuple):
    """The result of a distance.

    Attributes:
      distance: ``[]`` d(R1, R2).
      trivial1: ``[]`` bool, c(R1) ≈ 0 (every policy equally good under R1).
      trivial2: ``[]`` bool, likewise for R2.
      guaranteed: ``[]`` bool, whether the STARC guarantees (soundness and
        completeness) hold for this configuration.
    """

    distance: jax.Array
    trivial1: jax.Array
    trivial2: jax.Array
    guaranteed: jax.Array


class DistState(NamedTuple):
    """Per-MDP state of a distance: the canonicaliser's state and norm weights."""

    canon: Any
    norm_w: Any
    norm_w_inf: Any
    metric_w: Any
    metric_w_inf: Any


class DistSpec(NamedTuple):
    """Static (hashable) configuration of a distance; keys the compile cache."""

    canon: Any
    norm: NormSpec
    metric: NormSpec
    half: bool
    rtol: Any
    center: bool
    on_constant: str
    guaranteed: bool


class RewardDistance(NamedTuple):
    """An optax-style distance: ``init(mdp) -> state``, ``apply(state, R1, R2)``.

    ``init`` and ``apply`` are traceable and return ``jax.Array``; use them inside
    ``jit`` and ``vmap`` (``jax.vmap(d.apply, (None, 0, 0))`` reuses one
    factorisation for every pair). ``standardise(state, R) -> (s, trivial)`` and
    ``metric(state, x)`` expose the two halves (for pairwise matrices).

    Attributes:
      init: ``(TabularMDP) -> DistState``.
      apply: ``(DistState, R1, R2) -> DistOut``.
      standardise: ``(DistState, R) -> (s, trivial)``.
      metric: ``(DistState, x) -> []``, the metric of a difference of standardised
        rewards (halved when ``half``).
      name: a short name.
      spec: the static configuration.
      opts: the array options.
    """

    init: Callable[[Any], DistState]
    apply: Callable[..., DistOut]
    standardise: Callable[..., tuple[jax.Array, jax.Array]]
    metric: Callable[..., jax.Array]
    name: str
    spec: DistSpec
    opts: dict


def _init(spec: DistSpec, opts: dict, mdp: Any) -> DistState:
    cs = _canon.init_state(spec.canon, opts["canon"], mdp)
    layout = _canon.output_layout(spec.canon)
    g = cs.gamma
    if cs.state_dist is not None and cs.transitions is None:
        s, a = cs.state_dist.shape[0], cs.action_dist.shape[0]
    else:
        s, a = cs.transitions.shape[:2]
    shape = (s, a) if layout == "sa" else (s, a, s)
    t = cs.transitions if cs.model is None else cs.model
    nw = opts.get("weights")
    mw = opts.get("metric_weights")
    if spec.norm.mode == "coverage":
        nw = mw = _coverage(spec, opts, cs, shape)
    n = resolve_weights(spec.norm, nw, layout, t, shape, g.dtype)
    m = resolve_weights(spec.metric, mw, layout, t, shape, g.dtype)
    return DistState(cs, n[0], n[1], m[0], m[1])


def _coverage(spec: DistSpec, opts: dict, cs: Any, shape: tuple) -> jax.Array:
    cov = opts.get("coverage")
    if cov is not None:
        return jnp.asarray(cov, cs.gamma.dtype)
    s, a = shape[0], shape[1]
    if spec.canon.kind == "dard":  # uniform (s, a) × T: possible transitions only
        return cs.model / (s * a)
    ds, da = cs.state_dist, cs.action_dist
    return ds[:, None, None] * da[None, :, None] * ds[None, None, :]


def _standardise(spec: DistSpec, state: DistState, reward: Any):
    out = _canon.apply_one(spec.canon, state.canon, reward)
    return standardise(
        out.value,
        out.bound,
        spec.norm.p,
        state.norm_w,
        state.norm_w_inf,
        spec.rtol,
        center=spec.center,
    )


def _metric(spec: DistSpec, state: DistState, x: jax.Array) -> jax.Array:
    d = weighted_norm(x, spec.metric.p, state.metric_w, state.metric_w_inf)
    return d / 2 if spec.half else d


def _apply(spec: DistSpec, state: DistState, r1: Any, r2: Any) -> DistOut:
    s1, t1 = _standardise(spec, state, r1)
    s2, t2 = _standardise(spec, state, r2)
    d = _metric(spec, state, s1 - s2)
    if spec.on_constant == "nan":
        d = jnp.where(t1 | t2, jnp.nan, d)
    return DistOut(d, t1, t2, jnp.asarray(spec.guaranteed))


def make_distance(name: str, spec: DistSpec, opts: dict) -> RewardDistance:
    """Assembles a :class:`RewardDistance` from a static spec and array options."""
    return RewardDistance(
        init=functools.partial(_init, spec, opts),
        apply=functools.partial(_apply, spec),
        standardise=functools.partial(_standardise, spec),
        metric=functools.partial(_metric, spec),
        name=name,
        spec=spec,
        opts=opts,
    )


def _resolve_canon(canon: Any, policy: Any) -> _canon.Canonicaliser:
    if isinstance(canon, _canon.Canonicaliser):
        if policy is not None:
            raise ConfigError("pass `policy` to canon.val(...) when `canon` is built.")
        return canon
    check_choice("canon", canon, (*_canon.CANONS, "minimal_l2_flat"))
    if canon == "minimal_l2_flat":
        return _canon.minimal_l2("flat")
    if canon in ("val", "value_potential"):
        return _canon.CANONS[canon](policy)
    if policy is not None:
        raise ConfigError(f"`policy` applies to canon='val' only; got canon={canon!r}.")
    return _canon.CANONS[canon]()


def starc(
    canon: Any = "val",
    norm: Any = 2,
    metric: Any = None,
    weights: Any = None,
    half: bool = False,
    rtol: Any = None,
    *,
    metric_weights: Any = None,
    policy: Any = None,
    allow_degenerate_weights: bool = False,
) -> RewardDistance:
    r"""A STARC distance d(R1, R2) = m(s(R1), s(R2)), s(R) = c(R)/n(c(R)).

    With m induced by n, d ∈ [0, 2] (``half``: [0, 1]), d = 0 iff R1 ∼ R2 (for a
    STARC canonicalisation), d(R, −R) = 2, and the trivial-reward convention
    d(R, trivial) = 1, d(trivial, trivial) = 0 (trivial: n(c) ≤ rtol·n(b)).

    Args:
      canon: a :class:`~rewardkit.distances.canon.Canonicaliser` or its name:
        ``"val"`` (default), ``"minimal_l2"``, ``"minimal_l2_flat"``, ``"epic"``,
        ``"dard"``, ``"value_potential"``, ``"none"``.
      norm: n: 1, 2, ``inf`` or ``"none"`` (n ≡ 1, a reproduction baseline).
      metric: m's order; None: the same norm as n (and ``weights``).
      weights: n's weights: None, an array of the canonical output's shape (strictly
        positive), ``"transition"`` (D·T, D uniform) or ``"authors"`` (Σ T|x|^p).
      half: return d/2 (EPIC's [0, 1] scale).
      rtol: the relative zero test's threshold (1e-10 float64, 1e-5 float32).
      metric_weights: m's weights when ``metric`` is given (default ``weights``).
      policy: π for ``canon="val"`` given by name.
      allow_degenerate_weights: accept zero weights (``guaranteed`` becomes False).

    Returns:
      The distance (use ``init``/``apply`` inside ``jit``).

    Example:
      >>> from rewardkit.distances import make_mdp
      >>> mdp = make_mdp(np.full((2, 2, 2), 0.5), 0.9)
      >>> d = starc()
      >>> r = np.float32([[1, 0], [0, 0]])
      >>> round(float(d.apply(d.init(mdp), r, -r).distance), 4)
      2.0
    """
    c = _resolve_canon(canon, policy)
    nspec = norm_spec(norm, weights, "norm")
    if metric is None:
        mspec, mweights = nspec, weights
    else:
        mweights = weights if metric_weights is None else metric_weights
        mspec = norm_spec(metric, mweights, "metric")
        if mspec.p == "none":
            raise ConfigError("`metric` cannot be 'none'.")
    for nm, w in (("weights", weights), ("metric_weights", mweights)):
        if w is not None and not isinstance(w, str):
            _canon._check_positive(nm, w, allow_zero=allow_degenerate_weights)
    spec = DistSpec(
        canon=c.spec,
        norm=nspec,
        metric=mspec,
        half=bool(half),
        rtol=rtol,
        center=False,
        on_constant="convention",
        guaranteed=c.is_starc and nspec.p != "none" and not allow_degenerate_weights,
    )
    opts = {
        "canon": c.opts,
        "weights": None if isinstance(weights, str) else weights,
        "metric_weights": None if isinstance(mweights, str) else mweights,
    }
    return make_distance(f"starc_{c.name}", spec, opts)


# --------------------------------------------------------------------------- host


@functools.lru_cache(maxsize=256)
def _pair_fn(spec: DistSpec) -> Callable[..., DistOut]:
    def run(opts, mdp, r1, r2):
        state = _init(spec, opts, mdp)
        return jax.vmap(functools.partial(_apply, spec), (None, 0, 0))(state, r1, r2)

    return jax.jit(run)


def _mdp_dtype(mdp: Any, dtype: Any) -> Any:
    """float64 if requested or x64 is on, else float32."""
    del mdp  # the MDP's leaves are cast to the working dtype
    if dtype is None:
        return jnp.dtype(jnp.float64 if jax.config.jax_enable_x64 else jnp.float32)
    check_choice("dtype", str(jnp.dtype(dtype)), ("float32", "float64"))
    return jnp.dtype(dtype)


def _cast_mdp(mdp: TabularMDP, dt: Any) -> TabularMDP:
    def cast(x):
        if x is None or not jnp.issubdtype(jnp.asarray(x).dtype, jnp.floating):
            return x
        return jnp.asarray(np.asarray(x, np.float64), dt)

    out = jax.tree.map(cast, mdp, is_leaf=lambda x: x is None)
    t = out.transitions
    if t is not None:
        out = out._replace(transitions=t / jnp.sum(t, axis=-1, keepdims=True))
    return out


def _check_mdp(mdp: Any) -> TabularMDP:
    if not isinstance(mdp, TabularMDP):
        raise TypeError(
            "`mdp` must be a rewardkit.distances.TabularMDP (make_mdp or "
            f"from_tabular_model); got {type(mdp).__name__}."
        )
    return mdp


def run_pairs(
    dist: RewardDistance,
    mdp: TabularMDP,
    r1: Any,
    r2: Any,
    *,
    layout: Any = None,
    dtype: Any = None,
) -> tuple[Any, DistOut]:
    """Validates, broadcasts batches, runs the cached jitted pair function."""
    dt = _mdp_dtype(mdp, dtype)
    with jax.enable_x64(dt == jnp.float64):
        mdp = _cast_mdp(mdp, dt)
        if mdp.transitions is not None:
            s, a = mdp.transitions.shape[:2]
        else:
            s, a = mdp.state_dist.shape[0], mdp.action_dist.shape[0]
        a1, l1 = check_reward("R1", r1, s, a, layout)
        a2, l2 = check_reward("R2", r2, s, a, layout)
        # Compact rewards broadcast over s' when layouts differ.
        if l1 != l2:
            a1 = a1[..., None] * np.ones(s) if l1 == "sa" else a1
            a2 = a2[..., None] * np.ones(s) if l2 == "sa" else a2
        tail = (s, a, s) if "sas" in (l1, l2) else (s, a)
        n_tail = len(tail)
        b1, b2 = a1.shape[: a1.ndim - n_tail], a2.shape[: a2.ndim - n_tail]
        try:
            batch = np.broadcast_shapes(b1, b2)
        except ValueError:
            raise ConfigError(
                f"`R1` and `R2` batch shapes {b1} and {b2} do not broadcast."
            ) from None
        k = int(np.prod(batch))
        f1 = np.broadcast_to(a1, batch + tail).reshape((k, *tail))
        f2 = np.broadcast_to(a2, batch + tail).reshape((k, *tail))
        opts = jax.tree.map(
            lambda x: jnp.asarray(np.asarray(x, np.float64), dt), dist.opts
        )
        out = _pair_fn(dist.spec)(opts, mdp, jnp.asarray(f1, dt), jnp.asarray(f2, dt))
        out = jax.tree.map(lambda x: np.asarray(x).reshape(batch), out)
    return batch, out


def host_value(batch: tuple, x: np.ndarray) -> Any:
    """A float for a scalar result, else the NumPy array."""
    return float(x) if batch == () else x


def starc_distance(
    R1: Any,
    R2: Any,
    mdp: TabularMDP,
    *,
    canon: Any = "val",
    policy: Any = None,
    norm: Any = 2,
    metric: Any = None,
    weights: Any = None,
    metric_weights: Any = None,
    half: bool = False,
    rtol: Any = None,
    layout: Any = None,
    dtype: Any = None,
    allow_degenerate_weights: bool = False,
) -> Any:
    """The STARC distance between rewards (host function, NumPy results).

    Accepts NumPy/JAX arrays or nested lists with trailing dims ``(S, A, S)`` or
    ``(S, A)`` and any broadcastable leading batch dims (vmapped). Validates
    eagerly (shapes, NaN/inf), runs a cached jitted function (compiled once per
    configuration, shape and dtype) and returns a ``float``, or an ``np.ndarray``
    for batches. Each call factorises once for its whole batch; for repeated calls
    on one MDP keep the functional :func:`starc` state instead. The arguments are
    those of :func:`starc`, plus:

    Args:
      R1: reward(s).
      R2: reward(s).
      mdp: the :class:`~rewardkit.distances.TabularMDP`.
      canon: see :func:`starc`.
      policy: see :func:`starc`.
      norm: see :func:`starc`.
      metric: see :func:`starc`.
      weights: see :func:`starc`.
      metric_weights: see :func:`starc`.
      half: see :func:`starc`.
      rtol: see :func:`starc`.
      layout: ``"sas"`` or ``"sa"`` when A = S makes the shape ambiguous.
      dtype: ``"float64"`` to compute in float64 (under ``jax.enable_x64``);
        float32 if None (float64 when x64 is already on). float32 distances between
        generic rewards are good to ~1e-6 absolute for γ ≤ 0.99.
      allow_degenerate_weights: see :func:`starc`.

    Returns:
      ``float`` d, or ``np.ndarray`` over the batch dims.

    Example:
      >>> from rewardkit.distances import make_mdp
      >>> mdp = make_mdp(np.full((2, 2, 2), 0.5), 0.9)
      >>> r = [[1.0, 0.0], [0.0, 0.0]]
      >>> round(starc_distance(r, np.multiply(r, 3.0) + 1.0, mdp), 5)
      0.0
      >>> starc_distance(r, [[0.0, 1.0], [0.0, 0.0]], mdp, norm=1)
      2.0
    """
    _check_mdp(mdp)
    dist = starc(
        canon,
        norm,
        metric,
        weights,
        half,
        rtol,
        metric_weights=metric_weights,
        policy=policy,
        allow_degenerate_weights=allow_degenerate_weights,
    )
    batch, out = run_pairs(dist, mdp, R1, R2, layout=layout, dtype=dtype)
    return host_value(batch, out.distance)


@functools.lru_cache(maxsize=256)
def _canon_fn(spec: Any) -> Callable[..., Any]:
    def run(opts, mdp, rs):
        return _canon.apply_batch(spec, _canon.init_state(spec, opts, mdp), rs)

    return jax.jit(run)


def canonicalise(
    R: Any,
    mdp: TabularMDP,
    *,
    canon: Any = "val",
    policy: Any = None,
    layout: Any = None,
    dtype: Any = None,
) -> np.ndarray:
    """Canonicalises reward(s) on the host (NumPy in, NumPy out).

    Args:
      R: ``[..., S, A, S]`` or ``[..., S, A]`` reward(s).
      mdp: the MDP.
      canon: a canonicaliser or its name (see :func:`starc`).
      policy: π for ``"val"``/``"value_potential"`` by name.
      layout: ``"sas"``/``"sa"`` when ambiguous.
      dtype: ``"float64"`` or None (the MDP's dtype).

    Returns:
      ``np.ndarray`` c(R), ``[..., S, A]`` or ``[..., S, A, S]``.

    Example:
      >>> from rewardkit.distances import make_mdp
      >>> mdp = make_mdp(np.full((2, 2, 2), 0.5), 0.9)
      >>> canonicalise([[1.0, 0.0], [0.0, 0.0]], mdp).round(3).tolist()
      [[0.5, -0.5], [0.0, 0.0]]
    """
    _check_mdp(mdp)
    c = _resolve_canon(canon, policy)
    dt = _mdp_dtype(mdp, dtype)
    with jax.enable_x64(dt == jnp.float64):
        mdp = _cast_mdp(mdp, dt)
        s, a = mdp.transitions.shape[:2]
        arr, lay = check_reward("R", R, s, a, layout)
        tail = (s, a, s) if lay == "sas" else (s, a)
        batch = arr.shape[: arr.ndim - len(tail)]
        flat = jnp.asarray(arr.reshape((-1, *tail)), dt)
        opts = jax.tree.map(
            lambda x: jnp.asarray(np.asarray(x, np.float64), dt), c.opts
        )
        out = _canon_fn(c.spec)(opts, mdp, flat).value
        return np.asarray(out).reshape(batch + out.shape[1:])
