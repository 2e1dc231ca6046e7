"""Mixtures of bonuses: ``rk.intrinsic.combine`` (spec §1, "Mixtures").

A combination is itself an :class:`~rewardkit.intrinsic.IntrinsicBonus` whose state
is the tuple of its members' states, so it passes wherever one bonus does (the
Gymnasium front-ends, ``rk.agents.ppo``, ``jit``/``vmap``/``save_state``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp

from rewardkit.core import ConfigError, check_choice, check_non_negative
from rewardkit.intrinsic._base import BonusState, IntrinsicBonus

__all__ = ["combine"]

MODES = ("sum", "product")


def _check_members(members: Any) -> list[tuple[IntrinsicBonus, float]]:
    if isinstance(members, str | bytes) or not isinstance(members, Sequence):
        raise TypeError(
            "`members` must be a sequence of (bonus, weight) pairs; got "
            f"{type(members).__name__}."
        )
    if not members:
        raise ConfigError(
            "`members` must hold at least one (bonus, weight) pair; got an empty "
            "sequence."
        )
    out = []
    for i, pair in enumerate(members):
        if not (isinstance(pair, tuple | list) and len(pair) == 2):
            raise TypeError(
                f"`members[{i}]` must be a (bonus, weight) pair; got {pair!r}."
            )
        bonus, weight = pair
        if not isinstance(bonus, IntrinsicBonus):
            raise TypeError(
                f"`members[{i}]` bonus must be an IntrinsicBonus (e.g. "
                f"rk.intrinsic.rnd(num_envs=...)); got {type(bonus).__name__}."
            )
        weight = check_non_negative(f"members[{i}] weight", weight)
        if not math.isfinite(weight):
            raise ConfigError(
                f"`members[{i}] weight` must be a finite number >= 0; got {weight!r}."
            )
        out.append((bonus, weight))
    counts = [b.num_envs for b, _ in out]
    if len(set(counts)) > 1:
        names = ", ".join(f"{b.name}: {b.num_envs}" for b, _ in out)
        raise ConfigError(
            "every member of `members` must be built for the same `num_envs`; "
            f"got {names}."
        )
    return out


def _prefixes(names: list[str]) -> list[str]:
    """Member names; a name shared by several members gets its index appended."""
    return [
        f"{name}_{i}" if names.count(name) > 1 else name for i, name in enumerate(names)
    ]


def combine(
    members: Sequence[tuple[IntrinsicBonus, float]], *, mode: str = "sum"
) -> IntrinsicBonus:
    r"""Mixes several bonuses into one :class:`~rewardkit.intrinsic.IntrinsicBonus`.

    .. math:: r^i = \sum_m w_m b_m \quad (\texttt{"sum"}), \qquad
       r^i = \prod_m w_m b_m \quad (\texttt{"product"})

    where b_m is member m's own output: each member keeps its own observation and
    reward normalisation, warm-up and coefficient β_t (its ``beta0``/``kappa``
    leaves), so the members' scales never mix before the weights apply. The state
    is the tuple of member states; ``init`` splits its key into one key per member.

    * ``compute`` returns the mixture and an ``info`` with, for every member
      (prefix = its ``name``, with ``_<index>`` appended when names repeat),
      ``f"{prefix}/bonus"`` (its weighted part w_m b_m, so the parts add, or
      multiply, to the bonus), ``f"{prefix}/raw"`` and its other keys; the
      mixture's own ``raw`` is the same mixture of the members' raw values and
      ``warming_up`` holds while any member warms up.
    * ``update`` calls every member's ``update`` — a non-trainable member still
      refreshes its statistics snapshots and β counter there — and returns its
      metrics under the same prefixes, plus ``loss`` (the sum of the members'
      losses) and ``warming_up`` (any member).
    * ``reset`` resets every member (lifelong members ignore it).

    Metadata: ``episodic``, ``needs_action`` and ``trainable`` hold if they hold
    for any member; ``name`` joins the members' names with ``+`` (sum) or ``*``
    (product).

    ``"product"`` is the plain product of the weighted members: it is 0 while any
    member is 0 (e.g. warming up). NGU's episodic × lifelong bonus is not this
    product: its lifelong factor is the clipped modulator min(max(α, 1), L),
    which belongs to that method. The weights are static (a new weight compiles
    anew); for a sweep without recompiling, replace the members' ``beta0``
    leaves instead — in a sum, w_m and β0_m multiply.

    The anchor's ``Fabric`` returns one reward array per member and leaves their
    combination to a subclass (``rllte/xplore/reward/fabric.py``); the anchor
    paper finds global + episodic mixtures best (E3B + RIDE, §4.3).

    Args:
      members: a non-empty sequence of ``(bonus, weight)`` pairs, weights finite
        and >= 0, every bonus built for the same ``num_envs``.
      mode: ``"sum"`` or ``"product"``.

    Returns:
      The mixture, an :class:`~rewardkit.intrinsic.IntrinsicBonus`.

    Raises:
      TypeError: ``members`` is not a sequence of pairs, or holds a non-bonus.
      ConfigError: no member, a negative or non-finite weight, an unknown
        ``mode``, or members built for different ``num_envs``.

    Example:
      >>> import gymnasium as gym, rewardkit as rk
      >>> small = {"latent_dim": 4, "hidden": 8, "reward_norm": "none",
      ...          "warmup_transitions": 0}
      >>> bonus = combine([(rk.intrinsic.rnd(num_envs=2, **small), 1.0),
      ...                  (rk.intrinsic.e3b(num_envs=2, **small), 0.5)])
      >>> bonus.name, bonus.episodic, bonus.needs_action
      ('rnd+e3b', True, True)
      >>> spaces = gym.spaces.Box(-1, 1, (3,)), gym.spaces.Discrete(2)
      >>> state = bonus.init(jax.random.key(0), *spaces)
      >>> len(state)
      2
      >>> z = jnp.zeros((4, 2), bool)
      >>> batch = rk.core.Transition(obs=jnp.ones((4, 2, 3)), action=z.astype(int),
      ...     reward=z * 1.0, next_obs=jnp.ones((4, 2, 3)), terminated=z, truncated=z)
      >>> r, state, info = bonus.compute(state, batch)
      >>> r.shape, sorted(k for k in info if k.endswith("/bonus"))
      ((4, 2), ['e3b/bonus', 'rnd/bonus'])
      >>> parts = info["rnd/bonus"] + info["e3b/bonus"]
      >>> bool(jnp.all(r > 0)), bool(jnp.allclose(r, parts))
      (True, True)
    """
    pairs = _check_members(members)
    check_choice("mode", mode, MODES)
    bonuses = [b for b, _ in pairs]
    weights = [w for _, w in pairs]
    prefixes = _prefixes([b.name for b in bonuses])
    name = ("+" if mode == "sum" else "*").join(b.name for b in bonuses)
    who = f"combine({name})"

    def mix(values: list[jax.Array]) -> jax.Array:
        out = values[0]
        for v in values[1:]:
            out = out + v if mode == "sum" else out * v
        return out

    def states_of(state: Any, fn: str) -> tuple[Any, ...]:
        if isinstance(state, BonusState) or not (
            isinstance(state, tuple) and len(state) == len(bonuses)
        ):
            got = (
                f"a tuple of {len(state)}"
                if isinstance(state, tuple) and not isinstance(state, BonusState)
                else type(state).__name__
            )
            raise TypeError(
                f"{who}.{fn}: `state` must be the tuple of {len(bonuses)} member "
                f"states returned by init; got {got}."
            )
        return state

    def init(key: jax.Array, obs_spec: Any, action_spec: Any) -> tuple[Any, ...]:
        keys = jax.random.split(key, len(bonuses))
        return tuple(
            b.init(keys[i], obs_spec, action_spec) for i, b in enumerate(bonuses)
        )

    def compute(state: Any, batch: Any):
        states = states_of(state, "compute")
        parts, raws, warm, new, info = [], [], [], [], {}
        for b, w, p, s in zip(bonuses, weights, prefixes, states, strict=True):
            r, s, i = b.compute(s, batch)
            parts.append(w * r)
            raws.append(w * i["raw"])
            warm.append(jnp.any(i["warming_up"]))
            new.append(s)
            info.update({f"{p}/{k}": v for k, v in i.items()})
            info[f"{p}/bonus"] = parts[-1]
        info["raw"] = mix(raws)
        info["warming_up"] = jnp.any(jnp.stack(warm))
        return mix(parts).astype(jnp.float32), tuple(new), info

    def update(state: Any, batch: Any):
        states = states_of(state, "update")
        new, metrics, losses, warm = [], {}, [], []
        for b, p, s in zip(bonuses, prefixes, states, strict=True):
            s, m = b.update(s, batch)
            new.append(s)
            metrics.update({f"{p}/{k}": v for k, v in m.items()})
            if "loss" in m:
                losses.append(m["loss"])
            if "warming_up" in m:
                warm.append(jnp.any(m["warming_up"]))
        if losses:
            metrics["loss"] = sum(losses[1:], losses[0])
        metrics["warming_up"] = jnp.any(jnp.stack(warm)) if warm else jnp.bool_(False)
        return tuple(new), metrics

    def reset(state: Any, mask: Any, obs: Any) -> tuple[Any, ...]:
        states = states_of(state, "reset")
        return tuple(
            b.reset(s, mask, obs) for b, s in zip(bonuses, states, strict=True)
        )

    return IntrinsicBonus(
        init,
        compute,
        update,
        reset,
        episodic=any(b.episodic for b in bonuses),
        needs_action=any(b.needs_action for b in bonuses),
        trainable=any(b.trainable for b in bonuses),
        num_envs=bonuses[0].num_envs,
        name=name,
    )
