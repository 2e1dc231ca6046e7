"""Sample-based estimators converge to the tabular distances as samples grow.

Sizes are M = B in {64, 1024} (spec: 256 vs 4096) to fit the test budget; the
1/√M rate predicts a factor 4 between them, the test asks for 2.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rewardkit.distances as rd


@pytest.fixture(scope="module")
def setup(make_random_transitions):
    rng = np.random.default_rng(5)
    t, _ = make_random_transitions(rng, 4, 2)
    mdp = rd.make_mdp(t, 0.9)
    r1, r2 = rng.normal(size=(2, 4, 2, 4))
    r2 = 0.6 * r1 + 0.8 * r2  # a moderate distance
    t1, t2 = jnp.asarray(r1, jnp.float32), jnp.asarray(r2, jnp.float32)
    # One callable per reward for the whole module: jit caches are per callable.
    fns = (lambda s, a, x: t1[s, a, x], lambda s, a, x: t2[s, a, x])
    return mdp, r1, r2, rd.tabular_samplers(mdp), fns


def errors(fn, exact, sizes, seeds=5):
    out = []
    for n in sizes:
        errs = [abs(fn(jax.random.key(100 + i), n).value - exact) for i in range(seeds)]
        out.append(np.mean(errs))
    return out


def test_sampled_epic_converges(setup):
    mdp, r1, r2, smp, (f1, f2) = setup

    def uniform_cov(key, n):  # D_S ⊗ D_A ⊗ D_S, EPIC's tabular coverage
        k = jax.random.split(key, 3)
        return (
            smp["state"].sample(k[0], n),
            smp["action"].sample(k[1], n),
            smp["state"].sample(k[2], n),
        )

    exact = rd.epic_distance(r1, r2, mdp)
    cov = rd.Sampler(uniform_cov)

    def est(key, n):
        return rd.sampled_epic_distance(
            key,
            f1,
            f2,
            gamma=0.9,
            state_sampler=smp["state"],
            action_sampler=smp["action"],
            coverage_sampler=cov,
            n_samples=n,
            n_coverage=n,
            n_seeds=1,
        )

    small, large = errors(est, exact, [64, 1024])
    assert large <= 0.5 * small, (small, large, exact)
    floor = est(jax.random.key(0), 1024).noise_floor
    assert 0 <= floor < 0.2


def test_sampled_dard_converges(setup):
    mdp, r1, r2, smp, (f1, f2) = setup
    exact = rd.dard_distance(r1, r2, mdp)

    def est(key, n):
        return rd.sampled_dard_distance(
            key,
            f1,
            f2,
            gamma=0.9,
            action_sampler=smp["action"],
            coverage_sampler=smp["coverage"],
            next_state=smp["next_state"],
            n_samples=n // 16,
            n_coverage=n,
            n_seeds=1,
        )

    small, large = errors(est, exact, [64, 1024])
    assert large <= 0.5 * small, (small, large, exact)


def test_sampled_val_converges_with_exact_values(setup):
    mdp, r1, r2, smp, (f1, f2) = setup
    v1 = rd.cached_policy_evaluation(r1, mdp)
    v2 = rd.cached_policy_evaluation(r2, mdp)
    exact = rd.starc_distance(r1, r2, mdp)  # (s, a)-uniform L2

    def vf1(s):
        return v1[s]

    def vf2(s):
        return v2[s]

    def est(key, n):
        return rd.sampled_starc_val_distance(
            key,
            f1,
            f2,
            gamma=0.9,
            value_fn1=vf1,
            value_fn2=vf2,
            coverage_sampler=smp["coverage"],
            next_state=smp["next_state"],
            n_next=n // 8,
            n_coverage=n,
            n_seeds=1,
        )

    small, large = errors(est, exact, [64, 1024])
    assert large <= 0.5 * small, (small, large, exact)


def test_numpy_callables_run_eagerly(setup):
    _mdp, r1, _r2, smp, _ = setup

    def np_reward(s, a, x):  # not traceable: NumPy indexing of host arrays
        return np.asarray(r1)[np.asarray(s), np.asarray(a), np.asarray(x)]

    est = rd.sampled_epic_distance(
        jax.random.key(0),
        np_reward,
        np_reward,
        gamma=0.9,
        state_sampler=smp["state"],
        action_sampler=smp["action"],
        coverage_sampler=smp["coverage"],
        n_samples=16,
        n_coverage=16,
        n_seeds=2,
    )
    assert est.value == 0.0 and est.stderr == 0.0
