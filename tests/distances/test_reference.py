"""Agreement with the slow float64 NumPy reference for every canonicalisation/norm."""

import numpy as np
import pytest

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
NORMS = [
    (2, None, None),
    (1, None, None),
    (np.inf, None, None),
    (2, "transition", None),
    (1, "authors", None),
    (np.inf, "authors", None),
    ("none", None, 2),
    (2, None, 1),
]


@pytest.fixture(scope="module")
def problem(make_random_transitions):
    rng = np.random.default_rng(0)
    t, ab = make_random_transitions(rng, 5, 3, absorbing=1)
    r1 = rng.normal(size=(4, 5, 3, 5))
    r2 = rng.normal(size=(4, 5, 3, 5))
    r2[1] = rng.normal(size=(5, 3))[..., None]  # compact-in-content
    mdp = rd.make_mdp(t, 0.9, absorbing=ab)
    return t, ab, r1, r2, mdp, mdp


# Norms act on the canonical output, so every norm is checked on one compact-output
# (VAL) and one full-output (EPIC) canonicalisation, and every canonicalisation
# under L2 (compiles are the cost here).
CASES = (
    [(c, 2, None, None) for c in CANONS]
    + [("val", *n) for n in NORMS[1:]]
    + [("epic", *NORMS[5])]  # weighted ∞ on a full-layout output
)


@pytest.mark.parametrize(("name", "p", "w", "q"), CASES)
def test_starc_matches_reference(problem, ref, name, p, w, q):
    t, ab, r1, r2, mdp64, mdp32 = problem
    kw = {"canon": name, "norm": p, "weights": w, "metric": q}
    got64 = rd.starc_distance(r1, r2, mdp64, dtype="float64", **kw)
    assert got64.dtype == np.float64
    if (p, w, q) == (2, None, None):
        got32 = rd.starc_distance(r1, r2, mdp32, **kw)
        assert got32.dtype == np.float32
    want = np.array(
        [ref.starc(r1[i], r2[i], t, 0.9, name, p, q, w, "same", ab) for i in range(4)]
    )
    np.testing.assert_allclose(got64, want, rtol=1e-10, atol=1e-12)
    if p != "none" and (p, w, q) == (2, None, None):  # float32: L2 for every canon
        np.testing.assert_allclose(got32, want, atol=1e-5)


@pytest.mark.parametrize("name", CANONS)
def test_canonicalise_matches_reference(problem, ref, name):
    t, ab, r1, _, mdp64, _ = problem
    got = rd.canonicalise(r1, mdp64, canon=name, dtype="float64")
    for i in range(2):
        want, _ = ref.canon(name, r1[i], t, 0.9, ab)
        np.testing.assert_allclose(got[i], want, rtol=1e-10, atol=1e-11)


def test_pearson_matches_reference(problem, ref):
    t, ab, r1, r2, mdp64, mdp32 = problem
    for fn, name in ((rd.epic_distance, "epic"), (rd.dard_distance, "dard")):
        got64 = fn(r1, r2, mdp64, dtype="float64")
        got32 = fn(r1, r2, mdp32)
        want = np.array(
            [ref.pearson(name, r1[i], r2[i], t, 0.9, absorbing=ab) for i in range(4)]
        )
        np.testing.assert_allclose(got64, want, rtol=1e-9)
        np.testing.assert_allclose(got32, want, atol=1e-5)


def test_val_with_policy_matches_reference(problem, ref):
    t, ab, r1, r2, mdp64, _ = problem
    rng = np.random.default_rng(1)
    pi = rng.dirichlet(np.ones(3), size=5)
    got = rd.starc_distance(r1, r2, mdp64, policy=pi, dtype="float64")
    want = [
        ref.starc(r1[i], r2[i], t, 0.9, "val", absorbing=ab, pi=pi) for i in range(4)
    ]
    np.testing.assert_allclose(got, want, rtol=1e-10)
    det = np.eye(3)[rng.integers(0, 3, size=5)]  # deterministic π
    got = rd.starc_distance(r1, r2, mdp64, policy=det, dtype="float64")
    want = [
        ref.starc(r1[i], r2[i], t, 0.9, "val", absorbing=ab, pi=det) for i in range(4)
    ]
    np.testing.assert_allclose(got, want, rtol=1e-10)
