"""Foundation speed: JAX gridworld throughput, jitted Q-learning with shaping, adapters.

Run: ``python -m benchmarks.envs [--quick]``. Bars (shaping spec §5.5, issue 2):

* GridWorld 8x8, 1024 vmapped envs x 1000 steps, random policy: >= 50 M env-steps/s
  on the 2-core CPU (the reference measured 52-56 M there).
* Jitted tabular Q-learning with potential shaping, 32 seeds x 32 envs: >= 2 M
  env-steps/s.
* ``to_gymnasium`` Python step loop: <= 3x the 13.4 µs of a Python loop over a jitted
  single-env step (reference figure).
* In-scan cost of the functional shaping wrapper: <= 10 %.
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np

import rewardkit as rk
from benchmarks._timing import best_of, block, machine
from rewardkit.core import AutoReset
from rewardkit.envs import DEFAULT_GRID, GridState, GridWorld


def grid_program(num_envs: int, num_steps: int, shaped: bool = False):
    """A jitted ``key -> total reward`` over a vmapped, scanned random rollout.

    The 8x8 grid with same-step autoreset; ``shaped`` wraps it in potential
    shaping with ``rk.shaping.neg_distance`` (γ 0.99).
    """
    base = GridWorld(DEFAULT_GRID, max_steps=256)
    env = base
    if shaped:
        env = rk.shaping.functional.PotentialShaping(
            base, rk.shaping.neg_distance(base), 0.99
        )
    env = AutoReset(env, mode="SameStep")
    params = base.default_params()

    @jax.jit
    def run(key):
        _, state = jax.vmap(env.reset, (0, None))(
            jax.random.split(key, num_envs), params
        )

        def body(carry, k):
            state, total = carry
            k_a, k_e = jax.random.split(k)
            actions = jax.random.randint(k_a, (num_envs,), 0, 4)
            _, state, r, *_ = jax.vmap(env.step, (0, 0, 0, None))(
                jax.random.split(k_e, num_envs), state, actions, params
            )
            return (state, total + r.sum()), None

        (_, total), _ = jax.lax.scan(
            body, (state, jnp.float32(0.0)), jax.random.split(key, num_steps)
        )
        return total

    return run


def grid_throughput(num_envs: int, num_steps: int, shaped: bool = False) -> float:
    """Env-steps/s of a scanned, vmapped random policy on the 8x8 grid."""
    run = grid_program(num_envs, num_steps, shaped)
    block(run(jax.random.key(0)))
    t, _ = best_of(lambda: block(run(jax.random.key(1))), repeats=5)
    return num_envs * num_steps / t


def qlearning_throughput(seeds: int, envs: int, steps: int) -> float:
    """Env-steps/s of jitted tabular Q-learning with potential shaping."""
    base = GridWorld(DEFAULT_GRID, max_steps=256)

    def make_env(phi):
        pot = lambda s, p: phi[rk.core.find_state(s, GridState).pos]  # noqa: E731
        return rk.shaping.functional.PotentialShaping(base, pot, 0.99)

    cfg = rk.agents.qlearning.Config(num_envs=envs, num_steps=steps)
    train = jax.jit(
        jax.vmap(rk.agents.qlearning.make_train(cfg, make_env), (0, None, None))
    )
    keys = jax.random.split(jax.random.key(0), seeds)
    phi = jnp.asarray(-base.bfs_distances(), jnp.float32)
    block(train(keys, 0.0, phi))
    t, _ = best_of(lambda: block(train(keys, 0.0, phi)), repeats=3)
    return seeds * envs * steps / t


def adapter_step_us(steps: int) -> tuple[float, float]:
    """(Python loop over a jitted step, to_gymnasium step) in µs per step."""
    base = GridWorld(DEFAULT_GRID, max_steps=10**9)
    params = base.default_params()
    step = jax.jit(base.step)
    _, state = base.reset(jax.random.key(0), params)
    key = jax.random.key(1)
    out = step(key, state, 1, params)
    block(out)

    def raw():
        s = state
        for i in range(steps):
            s = step(key, s, i % 4, params)[1]
        block(s)

    env = rk.core.to_gymnasium(base)
    env.reset(seed=0)

    def gym_loop():
        for i in range(steps):
            env.step(i % 4)

    t_raw, _ = best_of(raw, 3)
    t_gym, _ = best_of(gym_loop, 3)
    return 1e6 * t_raw / steps, 1e6 * t_gym / steps


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    q = args.quick
    print(f"machine: {machine()}")
    res = {}
    n, t = (256, 200) if q else (1024, 1000)
    plain = grid_throughput(n, t)
    shaped = grid_throughput(n, t, shaped=True)
    res["grid_1024x1000_Msteps_s"] = plain / 1e6
    res["grid_shaped_Msteps_s"] = shaped / 1e6
    res["shaping_in_scan_cost_pct"] = 100 * (plain / shaped - 1)
    print(f"GridWorld {n} envs x {t} steps: {plain / 1e6:.1f} M env-steps/s (bar 50 M)")
    print(
        f"  with functional PotentialShaping: {shaped / 1e6:.1f} M ({res['shaping_in_scan_cost_pct']:+.1f} %, bar <= 10 %)"
    )
    s, e, t = (4, 8, 500) if q else (32, 32, 2000)
    ql = qlearning_throughput(s, e, t)
    res["qlearning_Msteps_s"] = ql / 1e6
    print(
        f"Q-learning + shaping, {s} seeds x {e} envs x {t} steps: {ql / 1e6:.2f} M env-steps/s (bar 2 M)"
    )
    raw, gym_us = adapter_step_us(200 if q else 2000)
    res["jit_loop_us"], res["to_gymnasium_us"] = raw, gym_us
    print(
        f"Python loop over jitted step: {raw:.1f} µs/step; to_gymnasium: {gym_us:.1f} µs/step ({gym_us / raw:.2f}x; bar <= 3x of 13.4 µs)"
    )
    return res


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    t0 = time.perf_counter()
    main()
    print(f"total {time.perf_counter() - t0:.1f} s")
