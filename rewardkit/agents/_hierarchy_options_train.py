"""The training loop of hierarchy options on a hierarchy's product env."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from rewardkit.agents._hierarchy_option_tables import (
    hierarchy_options,
    reachable_hierarchy,
)
from rewardkit.agents._hierarchy_options import hierarchy_option_learner
from rewardkit.core import ConfigError, Transition, check_positive_int
from rewardkit.machines import (
    HierarchicalRewardMachine,
    compile_hierarchy,
    default_label_fn,
)

__all__ = ["HierarchyOptionsConfig", "make_hierarchy_options_train"]


@dataclasses.dataclass(frozen=True)
class HierarchyOptionsConfig:
    """Configuration of :func:`make_hierarchy_options_train` (FBlearn's tabular values)."""

    num_steps: int = 100_000
    """environment steps per seed"""
    num_envs: int = 1
    """parallel environments per seed"""
    gamma: float = 0.9
    """discount of the formula policies"""
    gamma_meta: float = 0.99
    """discount of the meta-controllers"""
    alpha: float = 0.5
    """formula policies' step size"""
    meta_alpha: float = 0.1
    """meta-controllers' step size"""
    epsilon: float = 0.1
    """ε of the formula policies"""
    meta_epsilon: float = 0.1
    """ε of the meta-controllers"""
    q_init: float = 1.0
    """initial value of both levels (optimistic: pseudo-rewards are at most 1)"""
    success: float = 1.0
    """a level's reward when its machine accepts"""
    dead_end: float = 0.0
    """reward when the hierarchy rejects"""
    step_value: float = 0.0
    """reward of every other step"""


def make_hierarchy_options_train(config: HierarchyOptionsConfig, env: Any):
    """Builds ``train(key)``: hierarchy options on a hierarchy's product env.

    ``env`` is a functional :class:`rewardkit.machines.functional.ProductEnv`
    whose ``machine`` is a :class:`rewardkit.machines.HierarchicalRewardMachine`
    (e.g. ``hierarchical_craft_product(task=...)``). The loop runs its inner env
    and the compiled hierarchy (:func:`rewardkit.machines.compile_hierarchy`)
    itself, so observations carry the hierarchy state; episodes end on
    acceptance, rejection, env termination or truncation and restart at once
    (SameStep).

    Returns:
      ``train(key)`` returning ``[T, N]`` ``reward``, ``done``, ``accepted`` and the
      final ``q_formula`` and ``q_meta``.

    Example:
      >>> from rewardkit.machines.tasks import hierarchical_craft_product
      >>> env = hierarchical_craft_product(task="Sugar", max_steps=50)
      >>> cfg = HierarchyOptionsConfig(num_steps=100)
      >>> out = jax.jit(make_hierarchy_options_train(cfg, env))(jax.random.key(0))
      >>> out["reward"].shape, out["q_meta"].shape
      ((100, 1), (81, 2, 1))
    """
    h = getattr(env, "machine", None)
    if not isinstance(h, HierarchicalRewardMachine):
        raise TypeError(
            "`env` must be a functional ProductEnv over a HierarchicalRewardMachine; "
            f"got machine {type(h).__name__}."
        )
    n_env = check_positive_int("num_envs", config.num_envs)
    check_positive_int("num_steps", config.num_steps)
    inner = env.env
    params = inner.default_params()
    s_n = getattr(inner.observation_space(params), "n", None)
    if s_n is None:
        raise ConfigError("the inner env must have a Discrete observation space.")
    h = reachable_hierarchy(h)
    props = tuple(inner.propositions)
    domain = getattr(env, "label_domain", None)
    ch = compile_hierarchy(h, props, label_domain=domain)
    opts = hierarchy_options(h, props, label_domain=domain)
    learner = hierarchy_option_learner(
        hierarchy=ch,
        options=opts,
        num_env_states=int(s_n),
        num_actions=int(inner.action_space(params).n),
        gamma=config.gamma,
        gamma_meta=config.gamma_meta,
        alpha=config.alpha,
        meta_alpha=config.meta_alpha,
        epsilon=config.epsilon,
        meta_epsilon=config.meta_epsilon,
        success=config.success,
        dead_end=config.dead_end,
        step_value=config.step_value,
    )
    label_fn = env.label_fn if env.label_fn is not None else default_label_fn(inner)
    h0 = jax.tree.map(
        lambda x: jnp.broadcast_to(jnp.asarray(x), (n_env, *np.shape(x))),
        ch.initial_state(),
    )
    h_step = jax.vmap(ch.step)

    def reset(key: jax.Array):
        return jax.vmap(inner.reset, (0, None))(jax.random.split(key, n_env), params)

    def train(key: jax.Array) -> dict[str, jax.Array]:
        k_init, k_reset, k_run = jax.random.split(key, 3)
        obs, g_state = reset(k_reset)
        l_state = learner.init(k_init, config.q_init, (n_env,))

        def one_step(carry, k):
            l_state, g_state, hs, obs = carry
            k_act, k_env, k_reset = jax.random.split(k, 3)
            o = {"env": obs, "machine": hs}
            action, l_state = learner.act(l_state, o, k_act)
            obs2, g2, _, term, trunc, _ = jax.vmap(inner.step, (0, 0, 0, None))(
                jax.random.split(k_env, n_env), g_state, action, params
            )
            label = jax.vmap(label_fn, (0, 0, 0, None))(g_state, action, g2, params)
            hs2, reward, acc, rej = h_step(hs, jnp.asarray(label, jnp.uint32))
            term = jnp.asarray(term, bool) | acc | rej
            trunc = jnp.asarray(trunc, bool) & ~term
            batch = Transition(
                obs=o,
                action=action,
                reward=reward,
                next_obs={"env": obs2, "machine": hs2},
                terminated=term,
                truncated=trunc,
                extras={"label": label},
            )
            l_state, _ = learner.update(l_state, batch)
            done = term | trunc
            obs_r, g_r = reset(k_reset)
            pick = lambda a, b: jnp.where(  # noqa: E731
                done.reshape((n_env,) + (1,) * (a.ndim - 1)), a, b
            )
            g2 = jax.tree.map(pick, g_r, g2)
            hs2 = jax.tree.map(pick, h0, hs2)
            out = {"reward": reward, "done": done, "accepted": acc}
            return (l_state, g2, hs2, pick(obs_r, obs2)), out

        carry = (l_state, g_state, h0, obs)
        (l_state, *_), metrics = jax.lax.scan(
            one_step, carry, jax.random.split(k_run, config.num_steps)
        )
        return {
            **metrics,
            "q_formula": l_state.q_formula,
            "q_meta": l_state.q_meta,
        }

    return train
