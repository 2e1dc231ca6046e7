"""A two-minute tour of rewardkit: one small, real result per capability.

1. Shaping: tabular Q-learning on a 12x12 grid, with and without a potential.
2. Reward machines: a "coffee, then office" machine compiled and run on traces,
   host (NumPy) and jitted paths agreeing.
3. Intrinsic bonuses: RND's prediction error is high where the agent has not been.
4. Reward distances: STARC/EPIC/DARD say a shaped or rescaled reward is the same
   task and a random reward is not; the shaping is certified.

Prints one table and writes ``results/quickstart/summary.csv`` and ``quickstart.png``.
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np

import rewardkit as rk
from experiments import _common, shaping_gridworld
from rewardkit.core import Transition

DESCRIPTION = "A two-minute tour: one small result per capability (the README demo)"


def shaping_demo(quick: bool):
    seeds, steps = (4, 2000) if quick else (16, 6000)
    names = ("none", "-bfs", "V*")
    res = shaping_gridworld.run(seeds, steps, only=names)
    rows, curves = [], {}
    for name, r in res.items():
        goals = np.asarray(r["terminated"])[..., 0] & (
            np.asarray(r["extrinsic_reward"])[..., 0] > 0
        )
        curves[name] = np.cumsum(goals, axis=1).mean(0)
        rows.append(
            {
                "capability": "shaping",
                "what": f"Q-learning goals/seed, {steps} steps, Φ = {name}",
                "value": float(goals.sum(1).mean()),
            }
        )
    return rows, curves


def machine_demo():
    office = rk.machines.RewardMachine.from_edges(
        [
            ("u0", "u0", "!f & !n"),
            ("u0", "u1", "f & !n"),
            ("u1", "u1", "!g & !n"),
            ("u1", "done", "g & !n", 1.0),
            ("u0", "broken", "n"),
            ("u1", "broken", "n"),
        ],
        initial="u0",
        accepting=["done"],
        rejecting=["broken"],
        name="coffee_then_office",
    )
    props = ("f", "g", "n")
    compiled = rk.machines.compile(office, props)
    rng = np.random.default_rng(0)
    traces = rng.choice([0, 1, 2, 4], p=[0.7, 0.12, 0.12, 0.06], size=(256, 30)).astype(
        np.uint32
    )
    step = jax.jit(jax.vmap(compiled.step))
    u_host = np.zeros(256, np.int32) + np.int32(compiled.initial)
    u_jit = jnp.asarray(u_host)
    total_host = np.zeros(256, np.float32)
    accepted = np.zeros(256, bool)
    agree = True
    for t in range(traces.shape[1]):
        u_h, r_h, _, _ = compiled.step(u_host, traces[:, t])  # NumPy, batched
        u_jit, r_j, acc_j, _ = step(u_jit, jnp.asarray(traces[:, t]))
        agree &= bool(
            np.array_equal(u_h, np.asarray(u_jit)) and np.allclose(r_h, np.asarray(r_j))
        )
        u_host, total_host = u_h, total_host + r_h
        accepted |= np.asarray(acc_j)
    return [
        {
            "capability": "machines",
            "what": "random label traces accepted (coffee then office)",
            "value": float(accepted.mean()),
        },
        {
            "capability": "machines",
            "what": "host (NumPy) and jit steps agree on every trace",
            "value": float(agree),
        },
    ]


def intrinsic_demo(quick: bool):
    grid = rk.envs.GridWorld(rk.envs.DEFAULT_GRID, obs="onehot")
    space = grid.observation_space()
    n = 8
    bonus = rk.intrinsic.rnd(num_envs=n, warmup_transitions=0, update_proportion=1.0)
    state = bonus.init(jax.random.key(0), space, grid.action_space())
    # Experience from the top rooms only (rows 1-3): the bottom room stays novel.
    cells = np.array([grid.cell(r, c) for r in range(1, 4) for c in range(1, 7)])
    rng = np.random.default_rng(0)
    eye = np.eye(grid.num_cells, dtype=np.float32)

    def batch(idx):
        obs = eye[idx]
        return Transition(
            obs=jnp.asarray(obs),
            action=jnp.zeros(idx.shape, jnp.int32),
            reward=jnp.zeros(idx.shape),
            next_obs=jnp.asarray(obs),
            terminated=jnp.zeros(idx.shape, bool),
            truncated=jnp.zeros(idx.shape, bool),
        )

    update, compute = jax.jit(bonus.update), jax.jit(bonus.compute)
    for _ in range(30 if quick else 150):
        b = batch(rng.choice(cells, size=(16, n)))
        _, state, _ = compute(state, b)
        state, _ = update(state, b)
    visited = np.zeros(grid.num_cells, bool)
    visited[cells] = True
    free = ~grid.walls.ravel()
    probe = np.flatnonzero(free)
    reps = -(-len(probe) // n) * n
    idx = np.resize(probe, reps).reshape(-1, n)
    _, _, info = compute(state, batch(idx))
    raw = np.zeros(grid.num_cells)
    raw[idx.ravel()] = np.asarray(info["raw"]).ravel()
    seen, unseen = raw[visited & free].mean(), raw[~visited & free].mean()
    heat = np.where(free, raw, np.nan).reshape(grid.height, grid.width)
    return [
        {
            "capability": "intrinsic",
            "what": "RND error, visited cells (mean)",
            "value": float(seen),
        },
        {
            "capability": "intrinsic",
            "what": "RND error, never-visited cells (mean)",
            "value": float(unseen),
        },
    ], heat


def distances_demo():
    model = rk.envs.random_mdp(jax.random.key(0), 16, 4, branching=3, n_terminal=1)
    gamma = 0.9
    mdp = rk.distances.from_tabular_model(model, gamma)
    r = np.asarray(model.reward, np.float64)
    rng = np.random.default_rng(1)
    phi = np.where(np.asarray(model.terminal), 0.0, rng.normal(size=16))
    shaped = np.asarray(
        rk.shaping.shape_tabular(r, phi, gamma, np.asarray(model.terminal))
    )
    other = rng.normal(size=r.shape)
    rows, bars = [], {}
    for name, fn in (
        ("STARC", rk.distances.starc_distance),
        ("EPIC", rk.distances.epic_distance),
        ("DARD", rk.distances.dard_distance),
    ):
        vals = [float(fn(r, x, mdp)) for x in (shaped, 3.0 * r, other)]
        bars[name] = vals
        rows.append(
            {
                "capability": "distances",
                "what": f"{name}: shaped / x3 / random",
                "value": " / ".join(f"{v:.3f}" for v in vals),
            }
        )
    cert = rk.distances.certify_equivalent(r, shaped, mdp)
    rows.append(
        {
            "capability": "distances",
            "what": "shaped reward certified equivalent",
            "value": float(bool(cert.equivalent)),
        }
    )
    return rows, bars


def main(argv=None):
    p = _common.parser(DESCRIPTION)
    args = p.parse_args(argv)
    out = _common.out_dir("quickstart", args)
    t0 = time.perf_counter()
    rows = []
    steps = _common.progress(
        ["shaping", "machines", "intrinsic", "distances"], desc="quickstart"
    )
    for part in steps:
        if part == "shaping":
            r, curves = shaping_demo(args.quick)
        elif part == "machines":
            r = machine_demo()
        elif part == "intrinsic":
            r, heat = intrinsic_demo(args.quick)
        else:
            r, bars = distances_demo()
        rows += r
    _common.print_table(
        rows, f"rewardkit quickstart ({time.perf_counter() - t0:.0f} s)"
    )
    _common.write_csv(out / "summary.csv", rows)
    plt = _common.pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for name, c in curves.items():
        axes[0].plot(c, label=f"Φ = {name}")
    axes[0].set(
        xlabel="environment steps",
        ylabel="goal episodes (mean over seeds)",
        title="Shaping: Q-learning, 12x12 grid",
    )
    axes[0].set_yscale("symlog")
    axes[0].legend()
    im = axes[1].imshow(heat, cmap="magma")
    axes[1].set(title="RND error after training on the top rooms", xticks=[], yticks=[])
    fig.colorbar(im, ax=axes[1], fraction=0.046)
    x = np.arange(3)
    for i, (name, vals) in enumerate(bars.items()):
        bars_i = axes[2].bar(x + (i - 1) * 0.25, vals, width=0.25, label=name)
        axes[2].bar_label(bars_i, fmt="%.2f", fontsize=7)
    axes[2].set_xticks(x, ["shaped", "x3", "random"])
    axes[2].set(title="Distances to the original reward", ylabel="distance")
    axes[2].legend()
    fig.tight_layout()
    fig.savefig(out / "quickstart.png", dpi=110)
    print(f"wrote {out / 'summary.csv'} and {out / 'quickstart.png'}")
    return rows


if __name__ == "__main__":
    main()
