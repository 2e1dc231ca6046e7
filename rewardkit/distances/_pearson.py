"""EPIC and DARD as Pearson distances (stable form), functional and one-shot."""

from __future__ import annotations

from typing import Any

import numpy as np

from rewardkit.core import ConfigError, check_choice, check_gamma
from rewardkit.distances import canon as _canon
from rewardkit.distances._mdp import TabularMDP, _check_dist
from rewardkit.distances._norms import NormSpec
from rewardkit.distances._starc import (
    DistSpec,
    RewardDistance,
    _check_mdp,
    host_value,
    make_distance,
    run_pairs,
)

__all__ = ["dard_distance", "dard_pearson", "epic_distance", "epic_pearson"]

_COVERAGE = NormSpec(2.0, "coverage")


def _pearson(name: str, c: Any, coverage: Any, on_constant: str, rtol: Any):
    check_choice("on_constant", on_constant, ("convention", "nan"))
    if coverage is not None:
        _canon._check_distribution("coverage", np.ravel(np.asarray(coverage)))
    spec = DistSpec(
        canon=c.spec,
        norm=_COVERAGE,
        metric=_COVERAGE,
        half=True,
        rtol=rtol,
        center=True,
        on_constant=on_constant,
        guaranteed=False,
    )
    return make_distance(name, spec, {"canon": c.opts, "coverage": coverage})


def epic_pearson(
    state_dist: Any = None,
    action_dist: Any = None,
    coverage: Any = None,
    on_constant: str = "convention",
    *,
    rtol: Any = None,
) -> RewardDistance:
    r"""D_EPIC = D_ρ(C_EPIC R1, C_EPIC R2), the EPIC pseudometric ([EPIC] §4).

    D_ρ = √((1 − ρ)/2) with ρ the Pearson correlation under the coverage D
    (default D_S⊗D_A⊗D_S), computed stably as ½‖x̂ − ŷ‖_{2,D} of centred,
    unit-variance vectors (never as √((1−ρ)/2), which has a √ε floor). In
    [0, 1]; D(R, −R) = 1. Constant canonical rewards: ``on_constant="convention"``
    gives 0 if both are constant, 0.5 if one is; ``"nan"`` gives NaN.

    EPIC is **not** a STARC metric: it is not invariant to S'-redistribution and
    reads R on transitions the MDP cannot take, so it is neither sound nor
    complete in general ([STARC] App. A).

    Args:
      state_dist: ``[S]`` D_S (default: the MDP's, else uniform).
      action_dist: ``[A]`` D_A (default: the MDP's, else uniform).
      coverage: ``[S, A, S]`` coverage distribution, or None for D_S⊗D_A⊗D_S.
      on_constant: ``"convention"`` or ``"nan"``.
      rtol: the relative zero test's threshold.

    Returns:
      The distance (functional form).

    Example:
      >>> from rewardkit.distances import make_mdp
      >>> d = epic_pearson()
      >>> st = d.init(make_mdp(np.full((2, 1, 2), 0.5), 0.9))
      >>> r = np.float32([[[1, 0]], [[0, 0]]])
      >>> round(float(d.apply(st, r, -r).distance), 4)
      1.0
    """
    return _pearson(
        "epic_pearson",
        _canon.epic(state_dist, action_dist),
        coverage,
        on_constant,
        rtol,
    )


def dard_pearson(
    action_dist: Any = None,
    coverage: Any = None,
    model: Any = None,
    on_constant: str = "convention",
    *,
    rtol: Any = None,
) -> RewardDistance:
    """D_DARD = D_ρ(C_T R1, C_T R2) ([DARD]), stable Pearson form.

    The default coverage is uniform over (s, a) times T (possible transitions
    only). DARD is **not** a STARC metric (not redistribution-invariant; the raw R
    term survives) and is neither sound nor complete in general ([STARC] App. B).

    Args:
      action_dist: ``[A]`` D_A (default: the MDP's, else uniform).
      coverage: ``[S, A, S]`` coverage, or None for uniform (s, a) × T.
      model: ``[S, A, S]`` T̂ to canonicalise with instead of T.
      on_constant: ``"convention"`` or ``"nan"``.
      rtol: the relative zero test's threshold.

    Returns:
      The distance (functional form).

    Example:
      >>> from rewardkit.distances import make_mdp
      >>> d = dard_pearson()
      >>> st = d.init(make_mdp(np.full((2, 2, 2), 0.5), 0.9))
      >>> r = np.float32([[[1, 0], [0, 0]], [[0, 0], [0, 0]]])
      >>> round(float(d.apply(st, r, 2 * r).distance), 4)
      0.0
    """
    return _pearson(
        "dard_pearson", _canon.dard(action_dist, model), coverage, on_constant, rtol
    )


def epic_distance(
    R1: Any,
    R2: Any,
    mdp: TabularMDP | None = None,
    *,
    gamma: Any = None,
    state_dist: Any = None,
    action_dist: Any = None,
    coverage: Any = None,
    on_constant: str = "convention",
    layout: Any = None,
    dtype: Any = None,
) -> Any:
    """D_EPIC between rewards (host function, NumPy results); see :func:`epic_pearson`.

    Pass exactly one of ``mdp`` and ``gamma``: with ``mdp``, γ and the default
    D_S, D_A come from it; ``gamma=`` alone serves γ = 1 (undiscounted), which a
    :class:`~rewardkit.distances.TabularMDP` never holds (EPIC ignores T). Without
    an MDP rewards are ``[..., S, A, S]`` unless ``layout="sa"``.

    EPIC is **not** a STARC metric: not invariant to S'-redistribution, and values
    on impossible transitions can dominate it; it is neither sound nor complete in
    general ([STARC] App. A).

    Args:
      R1: reward(s), any broadcastable batch dims.
      R2: reward(s).
      mdp: the MDP, or None with ``gamma``.
      gamma: γ in [0, 1] when no ``mdp``.
      state_dist: ``[S]`` D_S.
      action_dist: ``[A]`` D_A.
      coverage: ``[S, A, S]`` coverage.
      on_constant: ``"convention"`` or ``"nan"``.
      layout: ``"sas"``/``"sa"``.
      dtype: ``"float64"`` or None.

    Returns:
      ``float`` or ``np.ndarray`` over the batch dims.

    Raises:
      ConfigError: both or neither of ``mdp``/``gamma``; γ > 1; bad shapes.

    Example:
      >>> r = np.zeros((2, 1, 2)); r[0, 0, 1] = 1.0
      >>> epic_distance(r, -r, gamma=1.0)
      1.0
      >>> round(epic_distance(r, 2 * r + 3, gamma=0.9), 5)
      0.0
    """
    if (mdp is None) == (gamma is None):
        raise ConfigError(
            "pass exactly one of `mdp` and `gamma` to epic_distance; got "
            f"mdp={'None' if mdp is None else 'an MDP'}, gamma={gamma!r}."
        )
    if mdp is None:
        g = check_gamma("gamma", gamma)
        shape = np.shape(R1)
        if layout == "sa":
            if len(shape) < 2:
                raise ConfigError(f"`R1` must have trailing dims (S, A); got {shape}.")
            s, a = shape[-2:]
        else:
            if len(shape) < 3 or shape[-3] != shape[-1]:
                raise ConfigError(
                    "without `mdp`, `R1` must have trailing dims (S, A, S) (or pass "
                    f"layout='sa'); got shape {shape}."
                )
            s, a = shape[-3], shape[-2]
        ds = np.full(s, 1.0 / s) if state_dist is None else state_dist
        da = np.full(a, 1.0 / a) if action_dist is None else action_dist
        ds = _check_dist("state_dist", ds, s, False)
        da = _check_dist("action_dist", da, a, False)
        mdp = TabularMDP(None, np.float64(g), None, None, ds, da)
    else:
        _check_mdp(mdp)
    dist = epic_pearson(state_dist, action_dist, coverage, on_constant)
    batch, out = run_pairs(dist, mdp, R1, R2, layout=layout, dtype=dtype)
    return host_value(batch, out.distance)


def dard_distance(
    R1: Any,
    R2: Any,
    mdp: TabularMDP,
    *,
    action_dist: Any = None,
    coverage: Any = None,
    model: Any = None,
    on_constant: str = "convention",
    layout: Any = None,
    dtype: Any = None,
) -> Any:
    """D_DARD between rewards (host function, NumPy results); see :func:`dard_pearson`.

    DARD is **not** a STARC metric: not invariant to S'-redistribution (the raw R
    term survives canonicalisation), so it is neither sound nor complete in
    general ([STARC] App. B).

    Args:
      R1: reward(s), any broadcastable batch dims.
      R2: reward(s).
      mdp: the MDP.
      action_dist: ``[A]`` D_A.
      coverage: ``[S, A, S]`` coverage (default uniform (s, a) × T).
      model: ``[S, A, S]`` T̂ instead of T.
      on_constant: ``"convention"`` or ``"nan"``.
      layout: ``"sas"``/``"sa"``.
      dtype: ``"float64"`` or None.

    Returns:
      ``float`` or ``np.ndarray`` over the batch dims.

    Example:
      >>> from rewardkit.distances import make_mdp
      >>> mdp = make_mdp(np.full((2, 3, 2), 0.5), 0.9)
      >>> r = np.zeros((2, 3, 2)); r[0, 0, 1] = 1.0
      >>> round(dard_distance(r, -r, mdp), 5)
      1.0
    """
    _check_mdp(mdp)
    dist = dard_pearson(action_dist, coverage, model, on_constant)
    batch, out = run_pairs(dist, mdp, R1, R2, layout=layout, dtype=dtype)
    return host_value(batch, out.distance)
