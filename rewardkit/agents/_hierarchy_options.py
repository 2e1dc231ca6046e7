"""Hierarchy options over a hierarchy of reward machines (Furelos-Blanco et al., 2023).

For every machine state of the hierarchy (and context, at a callee's initial
state) the options are the **formula options**, one per DNF clause of each formula
edge (a tabular policy over env states from a *formula bank* keyed by the clause,
shared by all machines), and the **call options**, one per clause of each call
edge's context (the callee's own meta-controller then picks its options). A
tabular **SMDP meta-controller** over (env state, node) picks options; the running
options form a stack mirroring the call stack.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from rewardkit.agents._hierarchy_option_tables import (
    HierarchyOptions,
    step_with_returns,
)
from rewardkit.agents._qlearning import Learner
from rewardkit.core import (
    ConfigError,
    Transition,
    check_gamma,
    check_in_range,
    check_positive_int,
    require_extras,
)
from rewardkit.machines import CompiledHierarchy

__all__ = ["HierarchyOptionsState", "hierarchy_option_learner"]

_NEG = -1e9
_PER_ENV = ("levels", "plan_node", "node", "slot", "start_s", "ret", "disc")


class HierarchyOptionsState(NamedTuple):
    """State of :func:`hierarchy_option_learner` (per-env fields lead with ``[...]``).

    Attributes:
      q_formula: ``[S, A, F]`` float32, the formula bank (one Q-function per clause).
      q_meta: ``[S, N, O]`` float32, the meta-controllers (one row per node).
      levels: ``[...]`` int32, running options on the stack (0: choose from the root).
      plan_node: ``[...]`` int32, the node the next choice is made at.
      node: ``[..., H]`` int32, each level's node.
      slot: ``[..., H]`` int32, each level's option slot.
      start_s: ``[..., H]`` int32, env state where each option started.
      ret: ``[..., H]`` float32, discounted step values since each option started.
      disc: ``[..., H]`` float32, ``gamma_meta^k`` after k steps of each option.
      updates: ``[]`` int32, number of ``update`` calls.
    """

    q_formula: jax.Array
    q_meta: jax.Array
    levels: jax.Array
    plan_node: jax.Array
    node: jax.Array
    slot: jax.Array
    start_s: jax.Array
    ret: jax.Array
    disc: jax.Array
    updates: jax.Array


def _sat(label: jax.Array, pos: Any, neg: Any) -> jax.Array:
    lab = label.astype(jnp.uint32)
    return ((lab & pos) == pos) & ((lab & neg) == 0)


def hierarchy_option_learner(
    *,
    hierarchy: CompiledHierarchy,
    options: HierarchyOptions,
    num_env_states: int,
    num_actions: int,
    gamma: float = 0.9,
    gamma_meta: float = 0.99,
    alpha: float = 0.5,
    meta_alpha: float = 0.1,
    epsilon: float = 0.1,
    meta_epsilon: float = 0.1,
    success: float = 1.0,
    dead_end: float = 0.0,
    step_value: float = 0.0,
    tie_noise: float = 1e-4,
) -> Learner:
    r"""Hierarchy options with SMDP meta-controllers (Furelos-Blanco et al., 2023).

    Observations are ``{"env": s, "machine": HierarchyArrays}`` and ``update``
    needs ``extras["label"]`` (the raw label of the step). **Formula bank**: on
    every valid step every clause c learns off-policy (intra-option Q-learning)
    with pseudo-reward 1 and termination when the label satisfies c, 0 and
    termination at a dead end (terminated without acceptance), else 0; truncation
    bootstraps. **Option stack**: a formula option ends when the hierarchy state
    changes or its clause holds; a call option ends when its callee returns
    (accepts), the caller moves otherwise, or the episode ends. When the
    hierarchy descends into a call the agent did not pick, that call is pushed as
    a forced option (started at the next state). **Meta-controller** of the
    option at level d, after k steps: ``Q(s0, n, o) ← Q + α_m [Σ_{i<k} γ_m^i
    step_value + γ_m^k (success if that level's machine accepted, dead_end if
    the hierarchy rejected) + γ_m^k max_{o'} Q(s_k, n', o') − Q]``, bootstrapping
    only while that level's machine runs on; no meta update at truncation.

    Args:
      hierarchy: the :class:`rewardkit.machines.CompiledHierarchy`.
      options: its :class:`HierarchyOptions` (same proposition order).
      num_env_states: S.
      num_actions: A.
      gamma: the formula policies' discount.
      gamma_meta: the meta-controllers' discount.
      alpha: the formula policies' step size.
      meta_alpha: the meta-controllers' step size.
      epsilon: ε of the formula policies.
      meta_epsilon: ε of the meta-controllers.
      success: a level's reward when its machine accepts.
      dead_end: reward when the hierarchy rejects.
      step_value: reward of every other step.
      tie_noise: noise scale that breaks greedy ties.

    Returns:
      A :class:`rewardkit.agents.Learner`; ``init(key, q_init=0.0,
      batch_shape=())``.

    Example:
      >>> from rewardkit.agents import hierarchy_options, reachable_hierarchy
      >>> from rewardkit.machines import compile_hierarchy
      >>> from rewardkit.machines.tasks import hierarchical_craft_task
      >>> h = reachable_hierarchy(hierarchical_craft_task("MilkBucket"))
      >>> learner = hierarchy_option_learner(hierarchy=compile_hierarchy(h),
      ...     options=hierarchy_options(h), num_env_states=5, num_actions=4)
      >>> st = learner.init(jax.random.key(0))
      >>> obs = {"env": jnp.int32(0), "machine": compile_hierarchy(h).initial_state()}
      >>> a, st = learner.act(st, obs, jax.random.key(1))
      >>> int(st.levels), st.q_formula.shape  # a call, then a formula option
      (2, (5, 4, 3))

    References:
      Furelos-Blanco, Law, Jonsson, Broda and Russo (2023). Hierarchies of reward
      machines. ICML.
    """
    s_n = check_positive_int("num_env_states", num_env_states)
    a_n = check_positive_int("num_actions", num_actions)
    gamma = check_gamma("gamma", gamma)
    gamma_meta = check_gamma("gamma_meta", gamma_meta)
    alpha = check_in_range("alpha", alpha, 0.0, 1.0)
    meta_alpha = check_in_range("meta_alpha", meta_alpha, 0.0, 1.0)
    epsilon = check_in_range("epsilon", epsilon, 0.0, 1.0)
    meta_epsilon = check_in_range("meta_epsilon", meta_epsilon, 0.0, 1.0)
    if not isinstance(hierarchy, CompiledHierarchy):
        raise TypeError(
            f"`hierarchy` must be a CompiledHierarchy; got {type(hierarchy).__name__}."
        )
    if not isinstance(options, HierarchyOptions):
        raise TypeError(
            f"`options` must be HierarchyOptions; got {type(options).__name__}."
        )
    ht = options.height
    if hierarchy.res_frames.shape[-2] != ht:
        raise ConfigError(
            f"`options` has height {ht} but `hierarchy` {hierarchy.res_frames.shape[-2]}."
        )
    t = HierarchyOptions(*(jnp.asarray(x) for x in options[:-1]), ht)
    n_n, o_n = t.available.shape
    f_n = t.bank_pos.shape[0]
    lv = jnp.arange(ht, dtype=jnp.int32)

    def init(key: jax.Array, q_init: Any = 0.0, batch_shape: tuple = ()):
        del key  # tables need no randomness
        q0 = jnp.asarray(q_init, jnp.float32)
        full = lambda shape, v, dt: jnp.full((*batch_shape, *shape), v, dt)  # noqa: E731
        return HierarchyOptionsState(
            q_formula=jnp.broadcast_to(q0, (s_n, a_n, f_n)).astype(jnp.float32),
            q_meta=jnp.broadcast_to(q0, (s_n, n_n, o_n)).astype(jnp.float32),
            levels=full((), 0, jnp.int32),
            plan_node=full((), t.root_node, jnp.int32),
            node=full((ht,), 0, jnp.int32),
            slot=full((ht,), 0, jnp.int32),
            start_s=full((ht,), 0, jnp.int32),
            ret=full((ht,), 0.0, jnp.float32),
            disc=full((ht,), 1.0, jnp.float32),
            updates=jnp.zeros((), jnp.int32),
        )

    def egreedy(q: jax.Array, key: jax.Array, eps: float) -> jax.Array:
        k_noise, k_explore, k_rand = jax.random.split(key, 3)
        greedy = jnp.argmax(q + tie_noise * jax.random.uniform(k_noise, q.shape))
        ok = q > _NEG / 2
        rand = jnp.argmax(jnp.where(ok, jax.random.uniform(k_rand, q.shape), -1.0))
        explore = jax.random.uniform(k_explore) < eps
        return jnp.where(explore, rand, greedy).astype(jnp.int32)

    def act_one(q_f, q_m, ls, s, key):
        keys = jax.random.split(key, ht + 1)
        last = jnp.maximum(ls.levels - 1, 0)
        need = (ls.levels == 0) | t.is_call[ls.node[last], ls.slot[last]]
        cur, levels = ls.plan_node, ls.levels
        node, slot, start_s = ls.node, ls.slot, ls.start_s
        ret, disc = ls.ret, ls.disc
        for d in range(ht):  # descend: call options until a formula option
            choose = need & (d >= ls.levels)
            q = jnp.where(t.available[cur], q_m[s, cur], _NEG)
            o = egreedy(q, keys[d], meta_epsilon)
            node = node.at[d].set(jnp.where(choose, cur, node[d]))
            slot = slot.at[d].set(jnp.where(choose, o, slot[d]))
            start_s = start_s.at[d].set(jnp.where(choose, s, start_s[d]))
            ret = ret.at[d].set(jnp.where(choose, 0.0, ret[d]))
            disc = disc.at[d].set(jnp.where(choose, 1.0, disc[d]))
            levels = jnp.where(choose, d + 1, levels)
            need = jnp.where(choose, t.is_call[cur, o], need)
            cur = jnp.where(choose, t.child[cur, o], cur)
        bottom = jnp.maximum(levels - 1, 0)
        f = jnp.maximum(t.formula[node[bottom], slot[bottom]], 0)
        action = egreedy(q_f[s, :, f], keys[ht], epsilon)
        new = ls._replace(
            levels=levels, node=node, slot=slot, start_s=start_s, ret=ret, disc=disc
        )
        return action, new

    def per_env(state: HierarchyOptionsState):
        return HierarchyOptionsState(
            None, None, *state[2:-1], None
        )  # the per-env fields, vmapped

    def act(state: HierarchyOptionsState, obs: Any, key: jax.Array):
        s = jnp.asarray(obs["env"], jnp.int32)
        lead = s.shape
        flat = lambda x: x.reshape((-1, *x.shape[len(lead) :]))  # noqa: E731
        env_part = jax.tree.map(flat, per_env(state))
        keys = jax.random.split(key, int(np.prod(lead, dtype=int)))
        fn = lambda ls, s_, k: act_one(state.q_formula, state.q_meta, ls, s_, k)  # noqa: E731
        a, new = jax.vmap(fn)(env_part, s.reshape(-1), keys)
        unflat = lambda x: x.reshape((*lead, *x.shape[1:]))  # noqa: E731
        new = jax.tree.map(unflat, new)
        return a.reshape(lead), state._replace(**{k: getattr(new, k) for k in _PER_ENV})

    def update_one(q_f, q_m, ls, s, a, s2, hs, label, term, trunc, valid):
        hs2, _, acc, rej, popped = step_with_returns(hierarchy, hs, label)
        label = jnp.asarray(label).astype(jnp.uint32)
        # Formula bank: every clause learns from this step.
        sat_f = _sat(label, t.bank_pos, t.bank_neg)  # [F]
        term = term | acc | rej
        dead = term & ~acc
        done_f = sat_f | dead
        boot_f = jnp.max(q_f[s2], axis=0)  # [F]
        td_f = sat_f + gamma * (1.0 - done_f) * boot_f - q_f[s, a]
        td_f = jnp.where(valid, td_f, 0.0)
        # Which running options survive the step.
        changed = (
            (hs2.machine != hs.machine)
            | (hs2.state != hs.state)
            | (hs2.depth != hs.depth)
            | jnp.any((hs2.stack != hs.stack) & (lv < hs.depth)[:, None])
        )
        over = term | trunc
        mach = t.node_machine[ls.node]  # [H]
        call = t.is_call[ls.node, ls.slot]
        ret_state = t.return_state[ls.node, ls.slot]
        callee = t.callee[ls.node, ls.slot]
        lv1 = jnp.minimum(lv + 1, ht - 1)
        at_next = jnp.where(
            lv + 1 < hs2.depth,
            hs2.stack[lv1, 0],
            jnp.where(lv + 1 == hs2.depth, hs2.machine, -1),
        )
        in_call = (
            (hs2.depth > lv)
            & (hs2.stack[lv, 0] == mach)
            & (hs2.stack[lv, 1] == ret_state)
            & (at_next == callee)
        )
        clause_sat = _sat(label, t.pos[ls.node, ls.slot], t.neg[ls.node, ls.slot])
        keep = jnp.where(call, ~changed | in_call, ~changed & ~clause_sat)
        alive = jnp.cumprod(keep & (lv < ls.levels) & ~over) > 0  # [H], a prefix
        first_dead = jnp.sum(alive).astype(jnp.int32)
        # Each level's machine accepted this step (and was the option's callee).
        parent = jnp.maximum(lv - 1, 0)
        acc_lvl = jnp.where(
            lv == 0,
            acc,
            (popped[0, lv] == 1)
            & (popped[1, lv] == mach)
            & (popped[2, lv] == mach[parent])
            & (popped[3, lv] == ret_state[parent]),
        )
        # Calls the hierarchy entered on its own become forced options.
        cur = ls.node[jnp.minimum(first_dead, ht - 1)]
        node, slot = ls.node, ls.slot
        forcing = changed & ~over & valid
        forced_to = first_dead
        for d in range(ht):
            here = forcing & (d >= first_dead) & (d < hs2.depth)
            target = hs2.stack[min(d + 1, ht - 1), 0] if d + 1 < ht else -1
            target = jnp.where(d + 1 < hs2.depth, target, hs2.machine)
            match = (
                t.available[cur]
                & t.is_call[cur]
                & (t.callee[cur] == target)
                & (t.return_state[cur] == hs2.stack[d, 1])
                & _sat(label, t.pos[cur], t.neg[cur])
            )
            o = jnp.argmax(match).astype(jnp.int32)
            here = here & jnp.any(match)
            forcing = forcing & (here | (d < first_dead))
            node = node.at[d].set(jnp.where(here, cur, node[d]))
            slot = slot.at[d].set(jnp.where(here, o, slot[d]))
            forced_to = jnp.where(here, d + 1, forced_to)
            cur = jnp.where(here, t.child[cur, o], cur)
        forced = lv < forced_to
        is_new = forced & ~alive
        # Meta-controllers: SMDP update of every option that ended.
        ret = ls.ret + ls.disc * step_value
        disc = ls.disc * gamma_meta
        real = t.node_of[hs2.machine, hs2.state]
        q_real = jnp.where(t.available[real], q_m[s2, real], _NEG).max()
        q_old_node = jnp.where(t.available[ls.node], q_m[s2, ls.node], _NEG).max(-1)
        boot = jnp.where(
            ~changed,
            q_old_node,
            jnp.where(hs2.depth == lv, q_real, q_m[s2, node, slot]),
        )
        boot = jnp.where(boot > _NEG / 2, boot, 0.0)  # no option left: no value
        parent_alive = (lv == 0) | alive[parent]
        cont = parent_alive & ~term & ~acc_lvl
        outcome = jnp.where(acc_lvl, success, jnp.where(rej, dead_end, 0.0))
        target = ret + disc * (outcome + jnp.where(cont, boot, 0.0))
        q_sa = q_m[ls.start_s, ls.node, ls.slot]
        ended = (lv < ls.levels) & ~alive & valid & ~(trunc & ~term)
        td_m = jnp.where(ended, target - q_sa, 0.0)
        # The stack after the step.
        levels = jnp.where(over, 0, jnp.maximum(first_dead, forced_to))
        plan = jnp.where(changed, real, ls.node[jnp.minimum(first_dead, ht - 1)])
        plan = jnp.where(over, t.root_node, plan)
        new = ls._replace(
            levels=levels,
            plan_node=plan,
            node=node,
            slot=slot,
            start_s=jnp.where(is_new, s2, ls.start_s),
            ret=jnp.where(is_new, 0.0, ret),
            disc=jnp.where(is_new, 1.0, disc),
        )
        new = jax.tree.map(lambda x, y: jnp.where(valid, x, y), new, ls)
        return new, td_f, td_m

    def update(state: HierarchyOptionsState, batch: Transition):
        require_extras(batch, "label", who="hierarchy options")
        s = jnp.asarray(batch.obs["env"], jnp.int32)
        lead = s.shape
        n = int(np.prod(lead, dtype=int))
        flat = lambda x: jnp.asarray(x).reshape((n, *jnp.shape(x)[len(lead) :]))  # noqa: E731
        bcast = lambda x: jnp.broadcast_to(jnp.asarray(x), lead).reshape(n)  # noqa: E731
        env_part = jax.tree.map(flat, per_env(state))
        hs = jax.tree.map(flat, batch.obs["machine"])
        s_, a = s.reshape(n), flat(jnp.asarray(batch.action, jnp.int32))
        s2 = flat(jnp.asarray(batch.next_obs["env"], jnp.int32))
        fn = lambda *xs: update_one(state.q_formula, state.q_meta, *xs)  # noqa: E731
        new, td_f, td_m = jax.vmap(fn)(
            env_part,
            s_,
            a,
            s2,
            hs,
            flat(batch.extras["label"]),
            bcast(batch.terminated).astype(bool),
            bcast(batch.truncated).astype(bool),
            bcast(batch.valid).astype(bool),
        )
        q_formula = state.q_formula.at[s_, a].add(alpha * td_f)
        q_meta = state.q_meta.at[env_part.start_s, env_part.node, env_part.slot].add(
            meta_alpha * td_m
        )
        unflat = lambda x: x.reshape((*lead, *x.shape[1:]))  # noqa: E731
        new = jax.tree.map(unflat, new)
        out = state._replace(
            q_formula=q_formula,
            q_meta=q_meta,
            updates=state.updates + 1,
            **{k: getattr(new, k) for k in _PER_ENV},
        )
        return out, {
            "formula_td_abs": jnp.mean(jnp.abs(td_f)),
            "meta_td_abs": jnp.sum(jnp.abs(td_m)) / jnp.maximum(jnp.sum(td_m != 0), 1),
        }

    return Learner(init, act, update)
