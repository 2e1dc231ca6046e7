"""The validated MDP that every distance is defined on."""

from __future__ import annotations

from collections import deque
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from rewardkit.core import ConfigError, TabularModel, check_gamma

__all__ = [
    "TabularMDP",
    "add_absorbing_state",
    "from_tabular_model",
    "make_mdp",
    "restrict_to_reachable",
]


class TabularMDP(NamedTuple):
    """A finite MDP with a discount, validated by :func:`make_mdp` (a pytree).

    :func:`make_mdp` stores float64 NumPy leaves (γ stays exactly the number given;
    JAX casts them to float32 unless x64 is on). Episode ends are absorbing states (``T(s⊥, a, s⊥) = 1``) whose self-loop pays 0
    for every reward compared: the distances zero ``R(s⊥, a, s⊥)`` before
    canonicalising. ``state_dist`` and ``action_dist`` are the default D_S and D_A
    of EPIC, DARD and the samplers (``None``: uniform). Batches of MDPs (leading
    axes on every leaf) vmap.

    Attributes:
      transitions: ``[S, A, S]`` float, T(s' | s, a); rows sum to 1.
      gamma: ``[]`` float, γ in [0, 1).
      initial: ``[S]`` float, μ0.
      absorbing: ``[S]`` bool, absorbing (terminal) states.
      state_dist: ``[S]`` float or None, D_S.
      action_dist: ``[A]`` float or None, D_A.

    Example:
      >>> mdp = make_mdp(np.full((2, 1, 2), 0.5), 0.9)
      >>> mdp.transitions.shape, round(float(mdp.gamma), 2), mdp.initial.tolist()
      ((2, 1, 2), 0.9, [0.5, 0.5])
    """

    transitions: Any
    gamma: Any
    initial: Any
    absorbing: Any
    state_dist: Any = None
    action_dist: Any = None


def _working_dtype(x: Any, dtype: Any) -> Any:
    if dtype is not None:
        dt = jnp.dtype(dtype)
        if dt == jnp.float64 and not jax.config.jax_enable_x64:
            raise ConfigError(
                "`dtype` float64 needs x64: wrap the call in "
                "`with jax.enable_x64(True):` or set `jax_enable_x64`."
            )
        return dt
    dt = jnp.asarray(x).dtype
    return dt if jnp.issubdtype(dt, jnp.floating) else jnp.dtype(jnp.float32)


def _check_dist(name: str, value: Any, size: int, allow_zero: bool) -> np.ndarray:
    d = np.asarray(value, np.float64)
    if d.shape != (size,):
        raise ConfigError(f"`{name}` must have shape ({size},); got shape {d.shape}.")
    if not np.all(np.isfinite(d)) or np.any(d < 0):
        raise ConfigError(f"`{name}` must be finite and non-negative; got {d}.")
    if not allow_zero and np.any(d <= 0):
        raise ConfigError(
            f"`{name}` must be strictly positive (zero-weight entries break the "
            f"norm; pass allow_degenerate_weights=True to accept them); got {d}."
        )
    if not np.isclose(d.sum(), 1.0, rtol=1e-6, atol=1e-6):
        raise ConfigError(f"`{name}` must sum to 1; it sums to {d.sum()!r}.")
    return d


def make_mdp(
    transitions: Any,
    gamma: Any,
    *,
    initial: Any = None,
    absorbing: Any = None,
    state_dist: Any = None,
    action_dist: Any = None,
    dtype: Any = None,
    allow_degenerate_weights: bool = False,
) -> TabularMDP:
    """Validates and builds a :class:`TabularMDP` (host function, eager checks).

    Rows of ``transitions`` are renormalised in the working dtype after casting, so
    float32 row-sum errors never leak into "exact" equivalences.

    Args:
      transitions: ``[S, A, S]``, non-negative rows summing to 1 (1e-6 relative).
      gamma: γ in [0, 1).
      initial: ``[S]`` μ0; uniform if None.
      absorbing: ``[S]`` bool; each must have ``T(s, a, s) = 1``. None: none.
      state_dist: ``[S]`` default D_S (strictly positive, sums to 1) or None.
      action_dist: ``[A]`` default D_A or None.
      dtype: None (default) keeps validated float64 NumPy leaves, so the working
        dtype is chosen where the MDP is used: float32, or float64 under x64
        (one-shot functions: their ``dtype``). A dtype gives JAX leaves of it.
      allow_degenerate_weights: accept zeros in ``state_dist``/``action_dist``.

    Returns:
      The validated MDP, with JAX arrays.

    Raises:
      ConfigError: naming the argument, what was expected and what was received.

    Example:
      >>> t = np.zeros((2, 2, 2)); t[:, 0, 0] = 1; t[:, 1, 1] = 1
      >>> mdp = make_mdp(t, 0.5, absorbing=[False, False])
      >>> mdp.absorbing.tolist()
      [False, False]
    """
    t = np.asarray(transitions, np.float64)
    if t.ndim != 3 or t.shape[0] != t.shape[2] or t.size == 0:
        raise ConfigError(
            f"`transitions` must have shape [S, A, S]; got shape {t.shape}."
        )
    s, a, _ = t.shape
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise ConfigError("`transitions` must be finite and non-negative.")
    sums = t.sum(-1)
    if not np.allclose(sums, 1.0, rtol=1e-6, atol=1e-6):
        bad = np.unravel_index(np.argmax(np.abs(sums - 1)), sums.shape)
        raise ConfigError(
            "`transitions` rows must sum to 1 (stochastic); row (s, a) = "
            f"{tuple(int(i) for i in bad)} sums to {sums[bad]!r}."
        )
    g = check_gamma("gamma", _scalar(gamma), allow_one=False)
    init = np.full(s, 1.0 / s) if initial is None else np.asarray(initial, np.float64)
    _check_dist("initial", init, s, allow_zero=True)
    absb = np.zeros(s, bool) if absorbing is None else np.asarray(absorbing)
    if absb.shape != (s,) or absb.dtype != bool:
        raise ConfigError(
            f"`absorbing` must be a bool array of shape ({s},); got {absb.dtype} "
            f"{absb.shape}."
        )
    for i in np.flatnonzero(absb):
        if not np.allclose(t[i, :, i], 1.0, atol=1e-6):
            raise ConfigError(
                f"`absorbing` state {int(i)} must self-loop under every action "
                f"(T(s, a, s) = 1); got {t[i, :, i]}."
            )
    ds = None if state_dist is None else state_dist
    da = None if action_dist is None else action_dist
    if ds is not None:
        ds = _check_dist("state_dist", ds, s, allow_degenerate_weights)
    if da is not None:
        da = _check_dist("action_dist", da, a, allow_degenerate_weights)
    t = t / t.sum(-1, keepdims=True)
    if dtype is None:  # float64 NumPy leaves: the working dtype is chosen at use
        return TabularMDP(
            transitions=t,
            gamma=np.asarray(g, np.float64),
            initial=init,
            absorbing=absb,
            state_dist=ds,
            action_dist=da,
        )
    dt = _working_dtype(transitions, dtype)
    tj = jnp.asarray(t, dt)
    tj = tj / jnp.sum(tj, axis=-1, keepdims=True)
    return TabularMDP(
        transitions=tj,
        gamma=jnp.asarray(g, dt),
        initial=jnp.asarray(init, dt),
        absorbing=jnp.asarray(absb),
        state_dist=None if ds is None else jnp.asarray(ds, dt),
        action_dist=None if da is None else jnp.asarray(da, dt),
    )


def _scalar(gamma: Any) -> Any:
    g = np.asarray(gamma)
    return g.item() if g.ndim == 0 else gamma


def from_tabular_model(
    model: TabularModel,
    gamma: Any,
    *,
    state_dist: Any = None,
    action_dist: Any = None,
    dtype: Any = None,
) -> TabularMDP:
    """Validates a :class:`rewardkit.core.TabularModel` into a :class:`TabularMDP`.

    The model's absorbing ``terminal`` states become ``absorbing``; ``labels`` is
    unused and ``model.reward`` stays an ordinary reward for the distances.
    float32 transitions used at float64 are renormalised after the cast.

    Args:
      model: the tabular model.
      gamma: γ in [0, 1) (the model carries none).
      state_dist: ``[S]`` default D_S or None (uniform).
      action_dist: ``[A]`` default D_A or None (uniform).
      dtype: the working dtype (see :func:`make_mdp`).

    Returns:
      The validated MDP.

    Example:
      >>> m = TabularModel(np.float32([[[0, 1]], [[0, 1]]]), np.zeros((2, 1, 2)),
      ...     np.array([False, True]), np.zeros(2, np.uint32), np.float32([1, 0]))
      >>> from_tabular_model(m, 0.9).absorbing.tolist()
      [False, True]
    """
    if not isinstance(model, TabularModel):
        raise TypeError(
            f"`model` must be a rewardkit.core.TabularModel; got {type(model).__name__}."
        )
    return make_mdp(
        model.transitions,
        gamma,
        initial=model.initial,
        absorbing=np.asarray(model.terminal, bool),
        state_dist=state_dist,
        action_dist=action_dist,
        dtype=dtype,
    )


def add_absorbing_state(mdp: TabularMDP, terminal_prob: Any) -> TabularMDP:
    """Adds an absorbing state s⊥ (index S) entered with ``terminal_prob[s, a]``.

    Each row's existing mass is scaled by ``1 − terminal_prob``; rewards compared on
    the result need an extra state (pad them with zeros, e.g. ``np.pad``).

    Args:
      mdp: the MDP.
      terminal_prob: ``[S, A]`` probabilities of ending the episode.

    Returns:
      An MDP with S + 1 states; μ0 and D_S get a zero (resp. renormalised) entry.

    Example:
      >>> mdp = make_mdp(np.ones((1, 1, 1)), 0.9)
      >>> big = add_absorbing_state(mdp, [[0.25]])
      >>> big.transitions[0, 0].tolist(), big.absorbing.tolist()
      ([0.75, 0.25], [False, True])
    """
    t = np.asarray(mdp.transitions, np.float64)
    s, a, _ = t.shape
    p = np.asarray(terminal_prob, np.float64)
    if p.shape != (s, a) or np.any(p < 0) or np.any(p > 1):
        raise ConfigError(
            f"`terminal_prob` must have shape ({s}, {a}) with entries in [0, 1]; "
            f"got shape {p.shape}."
        )
    new = np.zeros((s + 1, a, s + 1))
    new[:s, :, :s] = t * (1 - p)[..., None]
    new[:s, :, s] = p
    new[s, :, s] = 1.0
    ds = mdp.state_dist
    if ds is not None:
        ds = np.r_[np.asarray(ds, np.float64), np.mean(np.asarray(ds))]
        ds = ds / ds.sum()
    return make_mdp(
        new,
        _scalar(np.asarray(mdp.gamma)),
        initial=np.r_[np.asarray(mdp.initial, np.float64), 0.0],
        absorbing=np.r_[np.asarray(mdp.absorbing, bool), True],
        state_dist=ds,
        action_dist=mdp.action_dist,
        dtype=_leaf_dtype(mdp.transitions),
    )


def restrict_to_reachable(mdp: TabularMDP) -> tuple[TabularMDP, np.ndarray]:
    """The sub-MDP of states reachable from μ0, and their indices.

    STARC distances assume every state matters: rewards differing only on
    unreachable states get d > 0 although they order policies identically.
    Restrict first (and index rewards with ``R[idx][:, :, idx]``) to compare only
    what matters from μ0.

    Args:
      mdp: the MDP.

    Returns:
      ``(sub_mdp, idx)`` with ``idx`` the sorted int array of reachable states.

    Example:
      >>> t = np.zeros((3, 1, 3)); t[0, 0, 1] = t[1, 0, 1] = t[2, 0, 0] = 1
      >>> sub, idx = restrict_to_reachable(make_mdp(t, 0.9, initial=[1, 0, 0]))
      >>> idx.tolist(), sub.transitions.shape
      ([0, 1], (2, 1, 2))
    """
    t = np.asarray(mdp.transitions, np.float64)
    succ = t.sum(1) > 0
    seen = set(np.flatnonzero(np.asarray(mdp.initial) > 0).tolist())
    queue = deque(seen)
    while queue:
        i = queue.popleft()
        for j in np.flatnonzero(succ[i]).tolist():
            if j not in seen:
                seen.add(j)
                queue.append(j)
    idx = np.array(sorted(seen), int)
    sub = t[np.ix_(idx, np.arange(t.shape[1]), idx)]
    ds = mdp.state_dist
    if ds is not None:
        ds = np.asarray(ds, np.float64)[idx]
        ds = ds / ds.sum()
    return (
        make_mdp(
            sub,
            _scalar(np.asarray(mdp.gamma)),
            initial=np.asarray(mdp.initial, np.float64)[idx],
            absorbing=np.asarray(mdp.absorbing, bool)[idx],
            state_dist=ds,
            action_dist=mdp.action_dist,
            dtype=_leaf_dtype(mdp.transitions),
        ),
        idx,
    )


def _leaf_dtype(x: Any) -> Any:
    return None if isinstance(x, np.ndarray) else jnp.asarray(x).dtype
