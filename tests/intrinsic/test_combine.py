"""``rk.intrinsic.combine``: mixtures equal the weighted members (spec §1, Mixtures).

The contract suite runs the ``rnd+e3b`` entry of ``BONUSES``; here the mixture is
checked against its members computed on their own, and the eager errors.
"""

from __future__ import annotations

import re
from pathlib import Path

import hypothesis
import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rewardkit as rk
from rewardkit.core import ConfigError
from rewardkit.intrinsic import IntrinsicBonus
from rewardkit.intrinsic._combine import _prefixes
from tests.intrinsic._helpers import (
    ACT_SPACE,
    FAST,
    OBS_SPACE,
    N,
    assert_trees_equal,
    case,
)

ROOT = Path(__file__).resolve().parents[2]
WEIGHTS = (1.0, 0.5)  # the weights of BONUSES["rnd+e3b"]


def member_outputs(c):
    """Each member of the rnd+e3b case computed and updated on its own."""
    rnd, e3b = case("rnd"), case("e3b")  # same configurations as the members
    before = (dict(rnd.traces), dict(e3b.traces))
    outs = [m.compute(s, c.batch) for m, s in zip((rnd, e3b), c.warm, strict=True)]
    ups = [m.update(s, c.batch) for m, s in zip((rnd, e3b), c.warm, strict=True)]
    # The member states have the members' own structure: no new trace.
    assert (rnd.traces, e3b.traces) == before
    return outs, ups


def test_sum_is_the_weighted_sum_of_the_members():
    c = case("rnd+e3b")
    r, state, info = c.compute(c.warm, c.batch)
    outs, _ = member_outputs(c)
    want = sum(
        w * np.asarray(o[0], np.float64) for w, o in zip(WEIGHTS, outs, strict=True)
    )
    assert np.all(want != 0)
    np.testing.assert_allclose(r, want, rtol=1e-6, atol=1e-7)
    raw = sum(
        w * np.asarray(o[2]["raw"], np.float64)
        for w, o in zip(WEIGHTS, outs, strict=True)
    )
    np.testing.assert_allclose(info["raw"], raw, rtol=1e-6)
    for p, w, o in zip(("rnd", "e3b"), WEIGHTS, outs, strict=True):
        np.testing.assert_allclose(info[f"{p}/bonus"], w * o[0], rtol=1e-6)
        np.testing.assert_array_equal(info[f"{p}/raw"], o[2]["raw"])
    assert_trees_equal(state, tuple(o[1] for o in outs))
    assert not bool(info["warming_up"])


def test_product_is_the_product_of_the_weighted_members():
    c = case("rnd+e3b")
    rnd = rk.intrinsic.rnd(num_envs=N, update_proportion=1.0, **FAST)
    e3b = rk.intrinsic.e3b(num_envs=N, **FAST)
    bonus = rk.intrinsic.combine([(rnd, 2.0), (e3b, 0.5)], mode="product")
    assert bonus.name == "rnd*e3b"
    r, state, info = jax.jit(bonus.compute)(c.warm, c.batch)
    outs, _ = member_outputs(c)
    b = [np.asarray(o[0], np.float64) for o in outs]
    np.testing.assert_allclose(r, (2.0 * b[0]) * (0.5 * b[1]), rtol=1e-5, atol=1e-7)
    raw = [np.asarray(o[2]["raw"], np.float64) for o in outs]
    np.testing.assert_allclose(info["raw"], 2.0 * raw[0] * 0.5 * raw[1], rtol=1e-5)
    assert_trees_equal(state, tuple(o[1] for o in outs))


def test_update_updates_every_member_and_prefixes_metrics():
    c = case("rnd+e3b")
    state, metrics = c.update(c.warm, c.batch)
    _, ups = member_outputs(c)
    assert_trees_equal(state, tuple(u[0] for u in ups))
    for p, (_, m) in zip(("rnd", "e3b"), ups, strict=True):
        for k, v in m.items():
            np.testing.assert_array_equal(metrics[f"{p}/{k}"], v)
    total = float(ups[0][1]["loss"]) + float(ups[1][1]["loss"])
    np.testing.assert_allclose(float(metrics["loss"]), total, rtol=1e-6)
    assert not bool(metrics["warming_up"])


def test_reset_resets_each_member():
    c = case("rnd+e3b")
    _, state, _ = c.compute(c.warm, c.batch)  # e3b memories now hold the episode
    mask = jnp.array([True, False])
    obs = jnp.full((N, 4), 0.25)
    got = c.bonus.reset(state, mask, obs)
    e3b = case("e3b").bonus
    assert_trees_equal(got, (state[0], e3b.reset(state[1], mask, obs)))
    changed = [
        not np.array_equal(a, b)
        for a, b in zip(
            jax.tree.leaves(got[1].episodic),
            jax.tree.leaves(state[1].episodic),
            strict=True,
        )
    ]
    assert any(changed)


def fake(scale, *, trainable=True, episodic=False, needs_action=False, num_envs=1):
    """A bonus without networks: b = scale * reward; update counts its calls."""

    def compute(state, batch):
        r = scale * jnp.asarray(batch.reward, jnp.float32)
        return r, state, {"raw": r + 1.0, "warming_up": jnp.bool_(False)}

    def update(state, batch):
        del batch  # counts calls only
        return state + 1, {"loss": jnp.float32(scale)}

    return IntrinsicBonus(
        init=lambda key, obs_spec, action_spec: jnp.zeros((), jnp.int32),
        compute=compute,
        update=update,
        reset=lambda state, mask, obs: state,
        episodic=episodic,
        needs_action=needs_action,
        trainable=trainable,
        num_envs=num_envs,
        name="fake",
    )


def fake_batch(rewards):
    r = jnp.asarray(rewards, jnp.float32).reshape(-1, 1)
    z = jnp.zeros(r.shape, bool)
    return rk.core.Transition(
        obs=r[..., None],
        action=None,
        reward=r,
        next_obs=r[..., None],
        terminated=z,
        truncated=z,
    )


finite = st.floats(-4.0, 4.0, width=32)


@hypothesis.settings(max_examples=10)
@hypothesis.given(
    st.lists(st.tuples(finite, st.floats(0.0, 3.0, width=32)), min_size=1, max_size=3),
    st.lists(finite, min_size=1, max_size=4),
    st.sampled_from(["sum", "product"]),
)
def test_mixture_matches_a_float64_oracle(members, rewards, mode):
    bonus = rk.intrinsic.combine([(fake(s), w) for s, w in members], mode=mode)
    state = bonus.init(jax.random.key(0), OBS_SPACE, ACT_SPACE)
    r, _, info = bonus.compute(state, fake_batch(rewards))
    x = np.asarray(rewards, np.float64)[:, None]
    parts = [w * s * x for s, w in members]
    raws = [w * (s * x + 1.0) for s, w in members]
    op = np.sum if mode == "sum" else np.prod
    np.testing.assert_allclose(r, op(parts, axis=0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(info["raw"], op(raws, axis=0), rtol=1e-5, atol=1e-5)
    _, metrics = bonus.update(state, fake_batch(rewards))
    loss = sum(np.float32(s) for s, _ in members)
    np.testing.assert_allclose(metrics["loss"], loss, rtol=1e-6, atol=1e-6)


def test_every_member_updates_even_frozen_weight_or_untrained():
    still = fake(1.0, trainable=False)
    bonus = rk.intrinsic.combine([(fake(2.0), 0.0), (still, 1.0)])
    assert bonus.trainable and not bonus.episodic and not bonus.needs_action
    state = bonus.init(jax.random.key(0), OBS_SPACE, ACT_SPACE)
    r, state, info = bonus.compute(state, fake_batch([1.0, 2.0]))
    assert info["fake_0/bonus"].tolist() == [[0.0], [0.0]]  # weight 0: no part
    np.testing.assert_array_equal(r, [[1.0], [2.0]])
    state, _ = bonus.update(state, fake_batch([1.0, 2.0]))
    assert [int(s) for s in state] == [1, 1]  # the untrained member still updates


def test_metadata_is_any_of_the_members():
    quiet = fake(1.0, trainable=False)
    loud = fake(1.0, trainable=False, episodic=True, needs_action=True)
    assert not rk.intrinsic.combine([(quiet, 1.0)]).trainable
    mix = rk.intrinsic.combine([(quiet, 1.0), (loud, 1.0)], mode="product")
    assert (mix.episodic, mix.needs_action, mix.trainable) == (True, True, False)
    assert mix.name == "fake*fake" and mix.num_envs == 1
    nested = rk.intrinsic.combine([(mix, 1.0), (fake(1.0), 1.0)])
    assert nested.name == "fake*fake+fake" and nested.episodic
    assert _prefixes(["rnd", "e3b", "rnd"]) == ["rnd_0", "e3b", "rnd_2"]


@pytest.mark.parametrize(
    ("members", "kwargs", "error", "match"),
    [
        ([], {}, ConfigError, "`members` must hold at least one"),
        ("rnd", {}, TypeError, "`members` must be a sequence of"),
        ([fake(1.0)], {}, TypeError, r"`members\[0\]` must be a \(bonus, weight\)"),
        ([(lambda: 0, 1.0)], {}, TypeError, r"`members\[0\]` bonus must be an"),
        (
            [(fake(1.0), 1.0), (fake(1.0), -1.0)],
            {},
            ConfigError,
            r"members\[1\] weight",
        ),
        ([(fake(1.0), float("nan"))], {}, ConfigError, r"got nan"),
        ([(fake(1.0), float("inf"))], {}, ConfigError, r"finite number >= 0; got inf"),
        ([(fake(1.0), True)], {}, ConfigError, r"members\[0\] weight"),
        ([(fake(1.0), 1.0)], {"mode": "max"}, ConfigError, "`mode` must be one of"),
        (
            [(fake(1.0), 1.0), (fake(1.0, num_envs=2), 1.0)],
            {},
            ConfigError,
            r"same `num_envs`; got fake: 1, fake: 2",
        ),
    ],
)
def test_bad_arguments_raise_eagerly(members, kwargs, error, match):
    with pytest.raises(error, match=match):
        rk.intrinsic.combine(members, **kwargs)


def test_a_member_state_is_not_a_mixture_state():
    c = case("rnd+e3b")
    with pytest.raises(TypeError, match=r"tuple of 2 member states.*got BonusState"):
        c.bonus.compute(c.warm[0], c.batch)
    with pytest.raises(TypeError, match="got a tuple of 1"):
        c.bonus.update(c.warm[:1], c.batch)


def test_docs_mixtures_snippet_runs(capsys):
    text = (ROOT / "docs" / "intrinsic.md").read_text(encoding="utf-8")
    section = text.split("## Mixtures", 1)[1].split("\n## ", 1)[0]
    (code,) = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    exec(compile(code, "docs/intrinsic.md[Mixtures]", "exec"), {})
    assert "rnd+e3b" in capsys.readouterr().out


def test_functional_front_end_rejects_a_mixture_clearly():
    env = rk.intrinsic.functional.AddIntrinsicReward(
        rk.envs.GridWorld(["S.G"], obs="onehot"),
        rk.intrinsic.combine(
            [
                (rk.intrinsic.rnd(num_envs=1, **FAST), 1.0),
                (rk.intrinsic.e3b(num_envs=1, **FAST), 1.0),
            ]
        ),
    )
    with pytest.raises(TypeError, match="single bonus"):
        env.default_params()
