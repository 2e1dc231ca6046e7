"""The pure shaper: hand-worked cases, host vs jit parity, telescoping, errors."""

import hypothesis
import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rewardkit as rk
from rewardkit.core import ConfigError
from rewardkit.shaping import look_ahead, look_back, shape_tabular, shaper

F32 = np.float32


# -- hand-worked -------------------------------------------------------------------


def test_step_hand_worked_every_flag_combination():
    # imitation's hand-worked number: (0.9)(10) - 10 = -1.
    for truncation in ("bootstrap", "zero"):
        s = shaper(0.9, truncation=truncation)
        state = s.init(F32(10.0))
        f, used, new = s.step(state, F32(10.0), False, False)
        assert np.isclose(f, -1.0) and used == 10.0 and new.t == 1
        f, used, _ = s.step(state, F32(10.0), True, False)
        assert np.isclose(f, -10.0) and used == 0.0
        f, used, _ = s.step(state, F32(10.0), True, True)  # terminated wins
        assert np.isclose(f, -10.0) and used == 0.0
        f, used, _ = s.step(state, F32(10.0), False, True)
        want = -10.0 if truncation == "zero" else -1.0
        assert np.isclose(f, want) and used == (0.0 if truncation == "zero" else 10.0)


def test_state_dtypes_and_repr():
    s = shaper(0.99, truncation="zero")
    st_np = s.init(F32(1.0))
    assert st_np.phi_prev.dtype == np.float32 and st_np.t.dtype == np.int32
    st_j = s.init(jnp.float32(1.0))
    assert st_j.phi_prev.dtype == jnp.float32 and st_j.t.dtype == jnp.int32
    _, _, new = s.step(st_j, jnp.float32(2.0), jnp.bool_(False), jnp.bool_(False))
    assert new.phi_prev.dtype == jnp.float32 and new.t.dtype == jnp.int32
    assert "truncation='zero'" in repr(s) and "0.99" in repr(s)


def test_step_is_elementwise_over_batches():
    s = shaper(0.5)
    state = s.init(np.array([1.0, 2.0, 3.0], F32))
    f, used, _ = s.step(
        state,
        np.array([4.0, 4.0, 4.0], F32),
        np.array([False, True, False]),
        np.array([False, False, True]),
    )
    np.testing.assert_allclose(f, [1.0, -2.0, -1.0])
    np.testing.assert_array_equal(used, [4.0, 0.0, 4.0])


def test_shape_tabular_matches_loop_reference():
    rng = np.random.default_rng(0)
    r = rng.normal(size=(4, 2, 4))
    phi = rng.normal(size=4)
    term = np.array([False, False, True, False])
    out = shape_tabular(r, phi, 0.8, term)
    ref = np.empty_like(r)
    p0 = np.where(term, 0.0, phi)
    for s in range(4):
        for a in range(2):
            for s2 in range(4):
                ref[s, a, s2] = r[s, a, s2] + 0.8 * p0[s2] - p0[s]
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-12)
    out_j = shape_tabular(
        jnp.asarray(r, jnp.float32), jnp.asarray(phi, jnp.float32), 0.8, term
    )
    assert isinstance(out_j, jax.Array)
    np.testing.assert_allclose(out_j, ref, atol=1e-5)


# -- host vs jit parity (§4.7) --------------------------------------------------------

unit = st.floats(-100.0, 100.0, width=32)
STEP_JIT = {
    tr: jax.jit(shaper(0.99, truncation=tr).step) for tr in ("bootstrap", "zero")
}
LA = {tr: look_ahead(0.99, truncation=tr) for tr in ("bootstrap", "zero")}
LB = {tr: look_back(0.99, truncation=tr) for tr in ("bootstrap", "zero")}
LA_JIT = {tr: jax.jit(la.term) for tr, la in LA.items()}
LB_JIT = {tr: jax.jit(lb.step) for tr, lb in LB.items()}


def _bar(a, b):
    return 2.0**-21 * max(abs(0.99 * float(a)), abs(float(b)), 1e-30)


@hypothesis.given(
    unit,
    unit,
    st.booleans(),
    st.booleans(),
    st.integers(0, 1000),
    st.sampled_from(["bootstrap", "zero"]),
)
def test_step_host_equals_jit(phi_prev, phi_next, term, trunc, t, truncation):
    s = shaper(0.99, truncation=truncation)
    state = rk.shaping.ShapingState(F32(phi_prev), np.int32(t))
    host = s.step(state, F32(phi_next), np.bool_(term), np.bool_(trunc))
    dev = STEP_JIT[truncation](state, F32(phi_next), np.bool_(term), np.bool_(trunc))
    assert not isinstance(host[0], jax.Array)
    bar = _bar(phi_next, phi_prev)
    assert abs(float(host[0]) - float(dev[0])) <= bar
    assert float(host[1]) == float(dev[1])
    assert float(host[2].phi_prev) == float(dev[2].phi_prev)
    assert int(host[2].t) == int(dev[2].t) and host[2].t.dtype == np.int32
    # Python-bool flags (the Gymnasium path) give the same result as np.bool_.
    py = s.step(state, F32(phi_next), bool(term), bool(trunc))
    assert float(py[0]) == float(host[0]) and float(py[1]) == float(host[1])


@hypothesis.given(
    unit,
    unit,
    unit,
    st.booleans(),
    st.booleans(),
    st.sampled_from(["bootstrap", "zero"]),
)
def test_advice_terms_host_equal_jit(
    phi_sa, phi_next, phi_prev, term, trunc, truncation
):
    host = LA[truncation].term(
        F32(phi_sa), F32(phi_next), np.bool_(term), np.bool_(trunc)
    )
    dev = LA_JIT[truncation](
        F32(phi_sa), F32(phi_next), np.bool_(term), np.bool_(trunc)
    )
    assert abs(float(host) - float(dev)) <= _bar(phi_next, phi_sa)
    state = rk.shaping.LookBackState(F32(phi_prev), np.int32(3))
    h_f, h_s = LB[truncation].step(state, F32(phi_sa), np.bool_(term), np.bool_(trunc))
    d_f, d_s = LB_JIT[truncation](state, F32(phi_sa), np.bool_(term), np.bool_(trunc))
    assert abs(float(h_f) - float(d_f)) <= 2.0**-21 * max(
        abs(phi_sa), abs(phi_prev / 0.99), 1e-30
    )
    assert float(h_s.phi_prev) == float(d_s.phi_prev) and int(h_s.t) == int(d_s.t)


# -- telescoping (§6.1), float64 on the host ---------------------------------------------


def _episode(rng, length, end):
    phis = rng.normal(size=length + 1) * 5.0
    flags = [(False, False)] * (length - 1) + [end]
    return phis, flags


@pytest.mark.parametrize("truncation", ["bootstrap", "zero"])
@pytest.mark.parametrize("end", [(True, False), (False, True), (True, True)])
def test_telescoping_static_float64(truncation, end):
    gamma = 0.97
    s = shaper(gamma, truncation=truncation)
    rng = np.random.default_rng(1)
    for length in (1, 2, 7, 40):
        phis, flags = _episode(rng, length, end)
        state = s.init(np.float64(phis[0]))
        total = 0.0
        for t, (term, trunc) in enumerate(flags):
            f, _, state = s.step(state, np.float64(phis[t + 1]), term, trunc)
            total += gamma**t * f
        bootstrap = end == (False, True) and truncation == "bootstrap"
        want = -phis[0] + (gamma**length * phis[-1] if bootstrap else 0.0)
        assert abs(total - want) <= 1e-12


def test_telescoping_dynamic_potential_uses_arrival_values():
    # Φ changes at every step (a learned/annealed potential); the shaper subtracts
    # the value cached on arrival, so the identity holds with arrival-time values.
    gamma, s = 0.9, shaper(0.9)
    rng = np.random.default_rng(2)
    table = rng.normal(size=(30, 6))  # Φ_k(s): the potential after k updates
    states = rng.integers(0, 6, size=21)
    state = s.init(np.float64(table[0, states[0]]))
    total, recomputed = 0.0, 0.0
    for t in range(20):
        term = t == 19
        phi_next = np.float64(table[t + 1, states[t + 1]])  # value on arrival
        f, _, state = s.step(state, phi_next, term, False)
        total += gamma**t * f
        # Negative control: subtract Φ recomputed at departure with the new table.
        f_bad = gamma * phi_next * (not term) - table[t + 1, states[t]]
        recomputed += gamma**t * f_bad
    want = -table[0, states[0]]
    assert abs(total - want) <= 1e-12
    assert abs(recomputed - want) > 1e-3


# -- errors --------------------------------------------------------------------------


@pytest.mark.parametrize("gamma", [-0.1, 1.5, float("nan"), "0.9", None, True])
def test_bad_gamma(gamma):
    with pytest.raises(ConfigError, match="gamma"):
        shaper(gamma)


def test_bad_truncation_and_look_back_gamma():
    with pytest.raises(ConfigError, match=r"truncation.*'bootstrap', 'zero'.*'none'"):
        shaper(0.9, truncation="none")
    with pytest.raises(ConfigError, match=r"gamma.*\(0, 1\]"):
        look_back(0.0)
    with pytest.raises(ConfigError, match="truncation"):
        look_ahead(0.9, truncation=None)


def test_shape_tabular_bad_shapes():
    with pytest.raises(ConfigError, match="potential shape"):
        shape_tabular(np.zeros((3, 2, 3)), np.zeros(4), 0.9, np.zeros(3, bool))
    with pytest.raises(ConfigError, match="terminal"):
        shape_tabular(np.zeros((3, 2, 3)), np.zeros(3), 0.9, np.zeros(2, bool))
    with pytest.raises(ConfigError, match="gamma"):
        shape_tabular(np.zeros((3, 2, 3)), np.zeros(3), 2.0, np.zeros(3, bool))
