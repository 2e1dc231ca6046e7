"""certify_equivalent: shaped rewards certified, non-equivalent ones rejected."""

import jax
import numpy as np
import pytest

import rewardkit.distances as rd
from rewardkit.envs import random_mdp


def shape(r, phi, gamma, terminal):
    phi = np.where(terminal, 0.0, phi)
    return r + gamma * phi[None, None, :] - phi[:, None, None]


@pytest.mark.parametrize("seed", range(2))
def test_shaping_certified_on_random_mdps(seed):
    rng = np.random.default_rng(seed)
    model = random_mdp(jax.random.key(seed), 12, 3, n_terminal=2)
    gamma = [0.9, 0.99][seed % 2]
    mdp = rd.from_tabular_model(model, gamma)
    r = np.asarray(model.reward, np.float64)
    scale = 10.0 ** rng.uniform(-2, 2)
    phi = rng.normal(size=12) * 10.0 ** rng.uniform(-3, 3)
    alpha = 10.0 ** rng.uniform(-3, 3)
    shaped = alpha * shape(r * scale, phi, gamma, np.asarray(model.terminal))
    cert = rd.certify_equivalent(r * scale, shaped, mdp)
    assert cert.equivalent and cert.kappa >= 1
    assert cert.distance <= 1e-9 * cert.kappa
    assert cert.scale == pytest.approx(alpha, rel=1e-8)
    live = ~np.asarray(model.terminal)
    want = (phi - phi[live].mean())[live]
    got = cert.potential / 1.0
    got = (got - got[live].mean())[live]
    np.testing.assert_allclose(got, want, atol=1e-6 * max(1, np.abs(phi).max()))
    # float32 with the κ-scaled tolerance
    cert32 = rd.certify_equivalent(r * scale, shaped, mdp, x64=False)
    assert cert32.equivalent, (cert32.distance, cert32.kappa)
    # scaling not allowed: only α = 1 passes
    assert not rd.certify_equivalent(r, 2 * r, mdp, allow_scaling=False).equivalent
    assert rd.certify_equivalent(r, r + 0 * r, mdp, allow_scaling=False).equivalent


def test_episodic_nonzero_terminal_potential_is_not_equivalent():
    model = random_mdp(jax.random.key(5), 10, 2, n_terminal=1)
    gamma = 0.9
    mdp = rd.from_tabular_model(model, gamma)
    r = np.asarray(model.reward, np.float64)
    phi = np.random.default_rng(0).normal(size=10)
    phi[-1] = 3.0  # Φ(s⊥) ≠ 0: episodic shaping whose self-loop still pays 0
    bad = r + gamma * phi[None, None, :] - phi[:, None, None]
    bad[-1] = 0.0
    cert = rd.certify_equivalent(r, bad, mdp)
    assert not cert.equivalent and cert.distance > 1e-3
    assert rd.certify_equivalent(
        r, shape(r, phi, gamma, model.terminal), mdp
    ).equivalent


def test_trivial_and_min_canon():
    mdp = rd.make_mdp(np.full((3, 2, 3), 1 / 3), 0.8)
    phi = np.array([1.0, 2.0, -1.0])
    pure = np.broadcast_to(0.8 * phi[None, None, :] - phi[:, None, None], (3, 2, 3))
    const = np.full((3, 2, 3), 4.0)
    assert rd.certify_equivalent(pure, const, mdp).equivalent
    r = np.random.default_rng(0).normal(size=(3, 2, 3))
    assert not rd.certify_equivalent(r, const, mdp).equivalent
    cert = rd.certify_equivalent(r, r + pure, mdp, canon="minimal_l2")
    assert cert.equivalent and np.all(np.isnan(cert.potential))
