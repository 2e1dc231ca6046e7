"""DPBA's fixed point (E[F] = R†) and PIES's annealed advice; host vs jit."""

import jax
import numpy as np
import pytest

from rewardkit.core import ConfigError
from rewardkit.shaping import dpba, pies

# A deterministic 3-state chain 0 -> 1 -> 2 (terminal) under a fixed policy.
PATH = [(0, 1, 1), (1, 0, 2)]  # (s, a, s')
ADVICE = np.array([[0.0, 2.0], [-1.0, 0.0], [0.0, 0.0]])  # R†(s, a)


def _episodes(d, n):
    state = d.init(np.zeros((3, 2), np.float32))
    terms = []
    for _ in range(n):
        for i, (s, a, s2) in enumerate(PATH):
            done = i == len(PATH) - 1
            a2 = PATH[i + 1][1] if not done else 0
            new = d.update(state, s, a, np.float32(ADVICE[s, a]), s2, a2, done, False)
            terms.append(float(d.term(state, new, s, a, s2, a2, done, False)))
            state = new
    return state, terms


def test_dpba_fixed_point_pays_the_advice():
    d = dpba(0.9, beta=0.5)
    state, terms = _episodes(d, 200)
    # Φ = action value of −R† under the policy: Φ(1,0) = 1, Φ(0,1) = −2 + 0.9·1.
    np.testing.assert_allclose(state.phi[1, 0], 1.0, atol=1e-5)
    np.testing.assert_allclose(state.phi[0, 1], -2.0 + 0.9, atol=1e-5)
    # At the fixed point F = R†(s, a) on every step.
    np.testing.assert_allclose(terms[-2:], [ADVICE[0, 1], ADVICE[1, 0]], atol=1e-5)
    assert d.action_bias(np.zeros(2), state.phi[0]).tolist() == pytest.approx(
        [0.0, -1.1]
    )


def test_dpba_host_equals_jit():
    d = dpba(0.9, beta=0.5)
    state = d.init(np.arange(6, dtype=np.float32).reshape(3, 2))
    args = (0, 1, np.float32(2.0), 1, 0, np.bool_(False), np.bool_(False))
    host = d.update(state, *args)
    dev = jax.jit(d.update)(state, *args)
    np.testing.assert_allclose(host.phi, np.asarray(dev.phi), rtol=2.0**-21)
    f_host = d.term(state, host, *args[:2], *args[3:])
    f_dev = jax.jit(d.term)(state, dev, *args[:2], *args[3:])
    assert abs(float(f_host) - float(f_dev)) <= 2.0**-21 * 10


def test_pies_anneals_advice_out_of_selection():
    p = pies(0.9, beta=0.5, xi0=2.0, decay=0.9)
    state = p.init(np.zeros((3, 2), np.float32))
    for _ in range(300):
        for i, (s, a, s2) in enumerate(PATH):
            done = i == len(PATH) - 1
            a2 = PATH[i + 1][1] if not done else 0
            state = p.update(state, s, a, np.float32(ADVICE[s, a]), s2, a2, done, False)
    np.testing.assert_allclose(state.advice_q[1, 0], -1.0, atol=1e-5)
    np.testing.assert_allclose(state.advice_q[0, 1], 2.0 - 0.9, atol=1e-5)
    q = np.float32([0.3, 0.1])
    assert float(state.xi) < 1e-20
    np.testing.assert_allclose(p.action_values(state, q, 0), q, atol=1e-6)
    early = p.init(np.float32([[0.0, 5.0], [0, 0], [0, 0]]))
    assert p.action_values(early, q, 0).argmax() == 1  # advice steers early on


def test_errors():
    with pytest.raises(ConfigError, match="beta"):
        dpba(0.9, beta=0.0)
    with pytest.raises(ConfigError, match="gamma"):
        dpba(1.2, beta=0.5)
    with pytest.raises(ConfigError, match="decay"):
        pies(0.9, beta=0.5, decay=1.0)
    with pytest.raises(ConfigError, match="xi0"):
        pies(0.9, beta=0.5, xi0=-1.0)
    with pytest.raises(ConfigError, match=r"\[S, A\]"):
        dpba(0.9, beta=0.5).init(np.zeros(3))
