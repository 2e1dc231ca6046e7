"""The bonus contract: ``IntrinsicBonus``, ``BonusState`` and state save/restore.

Every bonus is built by a factory (``rk.intrinsic.rnd(*, num_envs, ...)``, ``icm``,
``disagreement``, ``e3b``) that checks its keyword-only hyper-parameters eagerly and
returns an :class:`IntrinsicBonus`: an optax-style NamedTuple of pure functions over
one explicit :class:`BonusState` pytree, plus static metadata.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from rewardkit.core import RunningStats

__all__ = ["BonusState", "IntrinsicBonus", "restore_state", "save_state"]

#: ``(key, obs_spec, action_spec) -> BonusState``.
InitFn = Callable[[jax.Array, Any, Any], "BonusState"]
#: ``(state, batch) -> (bonus [T, N] float32, state, info)``.
ComputeFn = Callable[[Any, Any], tuple[jax.Array, Any, dict[str, jax.Array]]]
#: ``(state, batch) -> (state, metrics)``.
UpdateFn = Callable[[Any, Any], tuple[Any, dict[str, jax.Array]]]
#: ``(state, mask [N] bool, obs [N, ...]) -> state``.
ResetFn = Callable[[Any, Any, Any], Any]


class IntrinsicBonus(NamedTuple):
    """An intrinsic bonus as pure functions over an explicit state (optax-style).

    * ``init(key, obs_spec, action_spec) -> state`` checks the (static, Gymnasium)
      spaces eagerly and builds networks, optimiser state, statistics and episodic
      arrays. Bind the spaces with ``functools.partial`` to ``vmap`` over keys.
    * ``compute(state, batch) -> (bonus [T, N] float32, state, info)`` scores a
      ``rk.core.Transition`` with leading axes ``[T, N]``. It is pure, jittable and
      uses no randomness; it advances only per-step state (episodic memories, live
      running statistics, the return filter), never learned parameters, snapshots
      or the β counter. Episodic memories reset at the batch's
      ``terminated | truncated`` flags, after scoring. ``info["raw"]`` holds the
      pre-normalisation bonus.
    * ``update(state, batch) -> (state, metrics)`` trains for one epoch (randomness
      split from ``state.key``), copies the live statistics into the snapshots and
      advances the β counter. Freezing a bonus is not calling it.
    * ``reset(state, mask [N], obs [N, ...]) -> state`` clears and re-seeds the
      episodic memory of the masked envs (front-ends that reset envs one by one).

    Attributes:
      init: see above.
      compute: see above.
      update: see above.
      reset: see above.
      episodic: the bonus resets per episode (PPO cuts intrinsic returns there).
      needs_action: ``compute``/``update`` read ``batch.action``.
      trainable: ``update`` takes gradient steps.
      num_envs: the ``N`` the bonus was built for (episodic and filter arrays).
      name: the method's name, for messages.

    Example:
      >>> import rewardkit as rk
      >>> bonus = rk.intrinsic.rnd(num_envs=2)
      >>> bonus.episodic, bonus.needs_action, bonus.trainable, bonus.num_envs
      (False, False, True, 2)
    """

    init: InitFn
    compute: ComputeFn
    update: UpdateFn
    reset: ResetFn
    episodic: bool = False
    needs_action: bool = False
    trainable: bool = True
    num_envs: int = 1
    name: str = "bonus"


class BonusState(NamedTuple):
    """The one state pytree of every bonus; all leaves are arrays of fixed dtype.

    Attributes:
      graphdef: static NNX graph definitions (a dict; no array leaves).
      params: learned network parameters (``nnx.State`` dict), what ``update``
        optimises.
      fixed: frozen random networks (RND target, random encoders); never trained.
      opt_state: the optax state of ``params``.
      obs_stats: live observation statistics (``RunningStats``), accumulated by
        ``compute``.
      obs_snapshot: the statistics ``compute`` normalises with; refreshed by
        ``update``.
      rew_stats: live statistics of the quantity whose scale normalises the bonus
        (raw bonus, or intrinsic return).
      rew_snapshot: their snapshot.
      rew_range: ``[2]`` float32, live min and max of the raw bonus (``"minmax"``).
      rew_range_snapshot: ``[2]`` float32, the previous rollout's min and max.
      ret_filter: ``[N]`` float32, the running discounted intrinsic return per env.
      episodic: method-specific episodic arrays (``()`` for lifelong bonuses).
      key: PRNG key (typed), split by ``update``.
      update_count: ``[]`` int32, number of ``update`` calls.
      beta_t: ``[]`` float32, the exponent t of β_t = β0 (1 − κ)^t.
      beta0: ``[]`` float32, β0 (a leaf, so sweeps never retrace).
      kappa: ``[]`` float32, κ.
    """

    graphdef: Any
    params: Any
    fixed: Any
    opt_state: Any
    obs_stats: RunningStats
    obs_snapshot: RunningStats
    rew_stats: RunningStats
    rew_snapshot: RunningStats
    rew_range: jax.Array
    rew_range_snapshot: jax.Array
    ret_filter: jax.Array
    episodic: Any
    key: jax.Array
    update_count: jax.Array
    beta_t: jax.Array
    beta0: jax.Array
    kappa: jax.Array


def _is_key(x: Any) -> bool:
    return isinstance(x, jax.Array) and jnp.issubdtype(x.dtype, jax.dtypes.prng_key)


def save_state(file: str | os.PathLike[str] | io.IOBase, state: Any) -> None:
    """Saves every array leaf of a bonus state, bit-exactly, to an ``.npz`` file.

    PRNG keys are stored as their raw key data. The static parts (NNX graph
    definitions, the tree structure) are not stored: :func:`restore_state` takes
    them from a template built by the same bonus's ``init``.

    Args:
      file: a path or a binary file object.
      state: the state (any pytree of arrays, e.g. a :class:`BonusState`).

    Example:
      >>> import io, gymnasium as gym, rewardkit as rk
      >>> bonus = rk.intrinsic.rnd(num_envs=1, latent_dim=4, hidden=8)
      >>> spaces = gym.spaces.Box(-1, 1, (3,)), gym.spaces.Discrete(2)
      >>> state = bonus.init(jax.random.key(0), *spaces)
      >>> buf = io.BytesIO()
      >>> save_state(buf, state)
      >>> _ = buf.seek(0)
      >>> back = restore_state(buf, bonus.init(jax.random.key(1), *spaces))
      >>> same = jax.tree.map(lambda a, b: bool(jnp.all(a == b)),
      ...     jax.tree.leaves(back.params), jax.tree.leaves(state.params))
      >>> all(same)
      True
    """
    leaves = jax.tree.leaves(state)
    arrays, kinds = {}, []
    for i, leaf in enumerate(leaves):
        if _is_key(leaf):
            arrays[f"leaf_{i}"] = np.asarray(jax.random.key_data(leaf))
            kinds.append(str(jax.random.key_impl(leaf)))
        else:
            arrays[f"leaf_{i}"] = np.asarray(leaf)
            kinds.append("")
    arrays["__kinds__"] = np.asarray(kinds, dtype=np.str_)
    np.savez(file, **arrays)


def restore_state(file: str | os.PathLike[str] | io.IOBase, like: Any) -> Any:
    """Restores a state saved by :func:`save_state` into the structure of ``like``.

    Args:
      file: a path or a binary file object.
      like: a template with the same structure, shapes and dtypes (e.g.
        ``bonus.init(key, obs_spec, action_spec)`` of the same bonus).

    Returns:
      The restored state, bit-identical to the saved one.

    Raises:
      ValueError: if the file's leaves do not match ``like``'s number, shapes or
        dtypes (naming the first mismatch).

    Example:
      See :func:`save_state`.
    """
    leaves, treedef = jax.tree.flatten(like)
    with np.load(file, allow_pickle=False) as data:
        n = len(data.files) - 1
        if n != len(leaves):
            raise ValueError(
                f"`like` has {len(leaves)} array leaves but the saved state has {n}; "
                "build the template with the same bonus and spaces."
            )
        out = []
        for i, leaf in enumerate(leaves):
            arr = data[f"leaf_{i}"]
            if _is_key(leaf):
                raw = jax.random.key_data(leaf)
                if arr.shape != raw.shape or arr.dtype != raw.dtype:
                    raise ValueError(
                        f"saved key leaf {i} has shape {arr.shape}, expected {raw.shape}."
                    )
                out.append(
                    jax.random.wrap_key_data(arr, impl=jax.random.key_impl(leaf))
                )
                continue
            want = np.asarray(leaf)
            if arr.shape != want.shape or arr.dtype != want.dtype:
                raise ValueError(
                    f"saved leaf {i} has shape {arr.shape} and dtype {arr.dtype}; "
                    f"`like` expects {want.shape} {want.dtype}."
                )
            out.append(jnp.asarray(arr))
    return jax.tree.unflatten(treedef, out)
