"""Hypothesis properties of STARC, EPIC and DARD (float64 via x64).

Shapes are drawn from a small fixed set ((S, A) in {(4, 2), (5, 3)}) rather than
S in [2, 12], A in [2, 5]: each new shape recompiles the jitted all-canon matrix,
and the suite has a 120 s budget. Contents (T, γ, rewards, potentials, scales,
redistribution noise, absorbing states) are drawn as the spec says.
"""

import functools

import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given

import rewardkit.distances as rd

CANONS = [
    "val",
    "minimal_l2",
    "minimal_l2_flat",
    "epic",
    "dard",
    "value_potential",
    "none",
]
STARC = {"val", "minimal_l2", "minimal_l2_flat"}
SHAPING_INVARIANT = set(CANONS) - {"none"}
DISTS = {c: rd.starc(c) for c in CANONS}


@jax.jit
def distance_matrices(mdp, rs):
    """[K, K] distance matrix among rs for every canonicalisation."""
    out = {}
    for name, d in DISTS.items():
        state = d.init(mdp)
        s, triv = jax.vmap(d.standardise, (None, 0))(state, rs)
        metric = functools.partial(d.metric, state)
        out[name] = jax.vmap(
            lambda x, s=s, metric=metric: jax.vmap(lambda y: metric(x - y))(s)
        )(s)
        out[name + "/trivial"] = triv
    return out


def log_uniform(lo, hi):
    return st.floats(np.log(lo), np.log(hi)).map(np.exp)


@st.composite
def problems(draw):
    s, a = draw(st.sampled_from([(4, 2), (5, 3)]))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    n_abs = draw(st.integers(0, 1))
    t = np.zeros((s, a, s))
    for i in range(s):
        for j in range(a):
            k = rng.integers(1, min(s, 4) + 1)
            succ = rng.choice(s, size=k, replace=False)
            t[i, j, succ] = rng.dirichlet(np.ones(k))
    absorbing = np.zeros(s, bool)
    if n_abs:
        t[-1] = 0.0
        t[-1, :, -1] = 1.0
        absorbing[-1] = True
    gamma = draw(st.floats(0.5, 0.99))
    sigma = draw(log_uniform(1e-2, 1e2))
    phi_scale = draw(log_uniform(1e-3, 1e3))
    alpha = draw(log_uniform(1e-3, 1e3))
    shift = draw(st.floats(-10, 10))
    compact = draw(st.booleans())
    return dict(
        t=t,
        absorbing=absorbing,
        gamma=gamma,
        sigma=sigma,
        phi_scale=phi_scale,
        alpha=alpha,
        shift=shift,
        rng=rng,
        compact=compact,
    )


def shaping(phi, gamma, absorbing):
    phi = np.where(absorbing, 0.0, phi)  # Φ(s⊥) = 0 (terminal potential)
    return gamma * phi[None, None, :] - phi[:, None, None]


def redistribution(rng, t, scale):
    n = rng.normal(size=t.shape) * scale
    return n - (t * n).sum(-1, keepdims=True)


@given(problems())
def test_invariances_conventions_and_metric_axioms(p):
    t, ab, g, rng = p["t"], p["absorbing"], p["gamma"], p["rng"]
    s, a, _ = t.shape
    sig = p["sigma"]
    r = rng.normal(size=(s, a)) * sig
    r = (
        r[..., None] * np.ones(s)
        if p["compact"]
        else r[..., None] + rng.normal(size=(s, a, s)) * sig
    )
    shp = shaping(rng.normal(size=s) * p["phi_scale"], g, ab)
    n_small = redistribution(rng, t, sig)
    # With an absorbing state a constant shift is not shaping with Φ(s⊥) = 0: it
    # changes how episode length is valued, so it is not an equivalence there.
    episodic = bool(ab.any())
    shift = 0.0 if episodic else p["shift"]
    combo = p["alpha"] * (r + n_small) + shp + shift
    pure_shaping = np.broadcast_to(
        shaping(rng.normal(size=s) * p["phi_scale"], g, ab), (s, a, s)
    )
    rs = np.stack(
        [
            r,  # 0
            p["alpha"] * r,  # 1 scaling
            r + p["shift"],  # 2 constant shift
            r + shp,  # 3 shaping
            r + n_small,  # 4 redistribution
            combo,  # 5 all combined
            -r,  # 6
            np.full(r.shape, p["shift"]),  # 7 constant (trivial)
            pure_shaping,  # 8 shaping (trivial)
            redistribution(rng, t, sig),  # 9 redistribution (STARC-trivial)
            rng.normal(size=r.shape) * sig,  # 10 unrelated
            rng.normal(size=r.shape) * sig,  # 11 unrelated
        ]
    )
    with jax.enable_x64(True):
        mdp = rd.make_mdp(t, g, absorbing=ab, dtype="float64")
        out = jax.tree.map(np.asarray, distance_matrices(mdp, jnp.asarray(rs)))
    tol = 1e-9
    for name in CANONS:
        d, triv = out[name], out[name + "/trivial"]
        assert np.all(d >= 0) and np.all(d <= 2 + 1e-12), name
        np.testing.assert_allclose(d, d.T, atol=1e-12)
        assert np.all(np.abs(np.diag(d)) < 1e-12)
        # triangle inequality over every triple
        assert np.all(d[:, None, :] <= d[:, :, None] + d[None, :, :] + 1e-9), name
        np.testing.assert_allclose(d[0, 6], 2.0, atol=tol, err_msg=name)
        if name != "none":
            assert d[0, 1] < tol, (name, d[0, 1])
            assert triv[8], name
            np.testing.assert_allclose(d[0, 8], 1.0, atol=tol, err_msg=name)
        if name != "none" and not episodic:
            assert d[0, 2] < tol, (name, d[0, 2])
            assert triv[7], name
            np.testing.assert_allclose(d[0, 7], 1.0, atol=tol, err_msg=name)
            assert d[7, 8] == 0.0
        if name in SHAPING_INVARIANT:
            assert d[0, 3] < tol, (name, d[0, 3])
        if name in STARC:
            assert d[0, 4] < tol and d[0, 5] < tol, (name, d[0, 4], d[0, 5])
            assert triv[9], name
            np.testing.assert_allclose(d[0, 9], 1.0, atol=tol)
            assert d[8, 9] == 0.0
        elif name != "none":
            # Not redistribution-invariant: same-scale noise moves them.
            assert d[0, 4] > 0.01, (name, d[0, 4])


def test_single_action_every_starc_reward_trivial(make_random_transitions):
    rng = np.random.default_rng(0)
    t, _ = make_random_transitions(rng, 4, 1)
    mdp = rd.make_mdp(t, 0.9)
    r1, r2 = rng.normal(size=(4, 1, 4)), rng.normal(size=(4, 1, 4))
    for c in STARC:
        assert rd.starc_distance(r1, r2, mdp, canon=c, dtype="float64") == 0.0
    for c in ("epic", "dard", "none"):
        assert rd.starc_distance(r1, r2, mdp, canon=c, dtype="float64") > 0.1


@pytest.fixture(scope="module")
def small(make_random_transitions):
    rng = np.random.default_rng(3)
    t, ab = make_random_transitions(rng, 5, 3, absorbing=1)
    return rng, t, ab, rd.make_mdp(t, 0.9, absorbing=ab)


def test_val_and_min_algebra(small):
    rng, _t, _ab, mdp = small
    s, a = 5, 3
    basis = np.eye(s * a).reshape(s * a, s, a)
    with jax.enable_x64(True):
        for name in ("val", "minimal_l2"):
            c = rd.canonicalise(basis, mdp, canon=name)
            flat = c.reshape(s * a, -1)
            # rank SA − S over the S − 1 live states (the absorbing row is zeroed)
            assert np.linalg.matrix_rank(flat, tol=1e-9) == (s - 1) * a - (s - 1)
            twice = rd.canonicalise(c, mdp, canon=name)
            np.testing.assert_allclose(twice, c, atol=1e-12)  # idempotent
            r1, r2 = rng.normal(size=(2, s, a, s))
            lin = rd.canonicalise(2 * r1 - 3 * r2, mdp, canon=name)
            np.testing.assert_allclose(
                lin,
                2 * rd.canonicalise(r1, mdp, canon=name)
                - 3 * rd.canonicalise(r2, mdp, canon=name),
                atol=1e-11,
            )
        r = rng.normal(size=(s, a, s))
        v = rd.canonicalise(r, mdp, canon="val")
        np.testing.assert_allclose((v / a).sum(-1), 0.0, atol=1e-12)  # Σ_a π VAL = 0
        m = rd.canonicalise(r, mdp, canon="minimal_l2")
        assert np.sum(m**2) <= np.sum(v**2) + 1e-12  # ‖MIN‖ ≤ ‖VAL‖ (uniform D)


def test_compact_equals_broadcast_and_numpy_equals_jax(small):
    rng, _t, _ab, mdp = small
    r1 = rng.normal(size=(5, 3))
    r2 = rng.normal(size=(5, 3, 5))
    with jax.enable_x64(True):
        r1_jax = jnp.asarray(r1)  # float64 JAX input
    for c in ("val", "epic", "dard", "minimal_l2_flat"):
        compact = rd.starc_distance(r1, r2, mdp, canon=c, dtype="float64")
        broad = rd.starc_distance(
            np.repeat(r1[..., None], 5, -1), r2, mdp, canon=c, dtype="float64"
        )
        as_jax = rd.starc_distance(r1_jax, r2.tolist(), mdp, canon=c, dtype="float64")
        assert abs(compact - broad) < 1e-12 and compact == as_jax


def test_epic_pearson_is_half_starc_form(small):
    rng, _t, _ab, mdp = small
    r1, r2 = rng.normal(size=(2, 4, 5, 3, 5))
    cov = np.full((5, 3, 5), 1 / 75)
    pearson = rd.epic_distance(r1, r2, mdp, dtype="float64")
    starc = rd.starc_distance(
        r1, r2, mdp, canon="epic", weights=cov, half=True, dtype="float64"
    )
    np.testing.assert_allclose(pearson, starc, atol=1e-12)
    assert np.all((pearson >= 0) & (pearson <= 1))
    # Pearson conventions: constants and pure shaping (no absorbing state here)
    const = np.full((5, 3, 5), 2.0)
    phi = rng.normal(size=5)
    shp = 0.9 * phi[None, None, :] - phi[:, None, None] + np.zeros((5, 3, 5))
    assert rd.epic_distance(r1[0], const, gamma=0.9) == pytest.approx(0.5, abs=1e-6)
    assert rd.epic_distance(r1[0], shp, gamma=0.9) == pytest.approx(0.5, abs=1e-6)
    assert rd.epic_distance(const, shp, gamma=0.9) == 0.0
    assert np.isnan(rd.epic_distance(r1[0], const, gamma=0.9, on_constant="nan"))
    np.testing.assert_allclose(rd.dard_distance(r1, -r1, mdp, dtype="float64"), 1.0)
    assert rd.starc_distance(r1[0], r2[0], mdp, half=True) == pytest.approx(
        rd.starc_distance(r1[0], r2[0], mdp) / 2, abs=1e-7
    )


def test_epic_gamma_one_and_stable_small_distances():
    rng = np.random.default_rng(0)
    r = rng.normal(size=(4, 2, 4))
    phi = rng.normal(size=4)
    shaped = r + phi[None, None, :] - phi[:, None, None]
    assert rd.epic_distance(r, 3 * shaped + 1, gamma=1.0, dtype="float64") < 1e-12
    # stable form: a tiny perturbation gives a distance of its own order, not √ε
    eps = 1e-9 * rng.normal(size=r.shape)
    d = rd.epic_distance(r, r + eps, gamma=0.9, dtype="float64")
    assert 1e-12 < d < 1e-8


def test_vmap_equals_loop_and_pairwise(small):
    rng, _t, _ab, mdp = small
    rs = rng.normal(size=(6, 5, 3, 5))
    d = rd.starc()
    with jax.enable_x64(True):
        state = d.init(jax.tree.map(lambda x: jnp.asarray(x), mdp))
        vm = jax.jit(jax.vmap(d.apply, (None, 0, 0)))(state, rs[:3], rs[3:]).distance
        loop = [float(d.apply(state, rs[i], rs[3 + i]).distance) for i in range(3)]
        np.testing.assert_allclose(vm, loop, atol=1e-12)
        m = rd.pairwise(d, state, rs)
        m_chunked = rd.pairwise(d, state, list(rs), chunk=4)
        gram = rd.pairwise(d, state, rs, rs[:2], method="gram")
    assert np.array_equal(m, m.T) and np.all(np.diag(m) == 0)
    np.testing.assert_allclose(m, m_chunked, atol=1e-12)
    np.testing.assert_allclose(m[:3, 3:].diagonal(), loop, atol=1e-12)
    np.testing.assert_allclose(gram, m[:, :2], atol=1e-7)
    one_shot = rd.starc_distance(rs[:, None], rs[None], mdp, dtype="float64")
    np.testing.assert_allclose(one_shot, m, atol=1e-12)
