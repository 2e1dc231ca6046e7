"""Policy invariance (Ng 1999) on random MDPs, its negative controls, and advice."""

import hypothesis
import hypothesis.strategies as st
import jax
import numpy as np

import rewardkit as rk
from rewardkit.shaping import look_ahead, look_back, shape_tabular

S_MAX, A_MAX = 60, 5  # every MDP is padded to one shape: the planner compiles once


def garnet(rng, s, a, branching, n_terminal):
    """A NumPy Garnet MDP (spec §5.4's recipe) with absorbing zero-reward terminals."""
    t = np.zeros((s, a, s))
    for i in range(s):
        for j in range(a):
            succ = rng.choice(s, size=branching, replace=False)
            t[i, j, succ] = rng.dirichlet(np.ones(branching))
    r = rng.normal(size=(s, a, s))
    term = np.zeros(s, bool)
    term[s - n_terminal :] = True
    for i in np.flatnonzero(term):
        t[i] = 0.0
        t[i, :, i] = 1.0
        r[i] = 0.0
    return t, r, term


def pad(t, r, term):
    """Pads to [S_MAX, A_MAX, S_MAX]: extra states absorbing, extra actions copies."""
    s, a, _ = t.shape
    tp = np.zeros((S_MAX, A_MAX, S_MAX))
    rp = np.zeros((S_MAX, A_MAX, S_MAX))
    tp[:s, :a, :s], rp[:s, :a, :s] = t, r
    tp[:s, a:, :s], rp[:s, a:, :s] = t[:, :1], r[:, :1]
    for i in range(s, S_MAX):
        tp[i, :, i] = 1.0
    tm = np.ones(S_MAX, bool)
    tm[:s] = term
    return rk.core.TabularModel(
        tp, rp, tm, np.zeros(S_MAX, np.uint32), np.eye(S_MAX)[0]
    )


@st.composite
def mdp_cases(draw):
    s = draw(st.integers(10, 60))
    a = draw(st.integers(2, 5))
    n_terminal = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**31 - 1))
    gamma = draw(st.sampled_from([0.9, 0.99]))
    rng = np.random.default_rng(seed)
    model = pad(*garnet(rng, s, a, 3, n_terminal))
    phi = rng.normal(size=S_MAX) * ~model.terminal
    return model, phi, gamma


@jax.jit
def _optimal_q(model, gamma, reward):
    # One trace per shape: gamma is traced (a closure would recompile every call).
    v = rk.core.value_iteration(model, gamma, reward, tol=1e-12)
    return rk.core.q_values(model, gamma, v, reward)


def optimal_q(model, gamma, reward=None):
    reward = model.reward if reward is None else reward
    model = model._replace(initial=np.asarray(model.initial, np.float64))
    return np.asarray(
        _optimal_q(model, np.float64(gamma), np.asarray(reward, np.float64))
    )


def best_sets(q, live):
    return (q >= q.max(-1, keepdims=True) - 1e-9)[live]


@hypothesis.settings(max_examples=50)
@hypothesis.given(mdp_cases())
def test_shaping_shifts_q_star_by_potential_and_keeps_optimal_actions(case):
    model, phi, gamma = case
    with jax.enable_x64(True):
        q = optimal_q(model, gamma)
        shaped = shape_tabular(model.reward, phi, gamma, model.terminal)
        assert shaped.dtype == np.float64
        qs = optimal_q(model, gamma, shaped)
    live = ~np.asarray(model.terminal)
    np.testing.assert_allclose(qs[live], (q - phi[:, None])[live], atol=1e-8, rtol=0)
    np.testing.assert_array_equal(best_sets(qs, live), best_sets(q, live))


def _two_exit_mdp():
    # s0 -a0-> exit A (reward 1, terminal 1); s0 -a1-> s1 -> exit B (reward 1.2).
    s, a = 4, 2
    t = np.zeros((s, a, s))
    r = np.zeros((s, a, s))
    t[0, 0, 2] = 1.0
    r[0, 0, 2] = 1.0
    t[0, 1, 1] = 1.0
    t[1, :, 3] = 1.0
    r[1, :, 3] = 1.2
    t[2, :, 2] = t[3, :, 3] = 1.0
    term = np.array([False, False, True, True])
    model = rk.core.TabularModel(t, r, term, np.zeros(s, np.uint32), np.eye(s)[0])
    return model


def test_negative_control_nonzero_terminal_potential_flips_preferred_exit():
    model, gamma = _two_exit_mdp(), 0.9
    with jax.enable_x64(True):
        q = optimal_q(model, gamma)
        assert q[0].argmax() == 1  # 0.9 * 1.2 = 1.08 > 1
        phi = np.array([0.0, 0.0, 1.0, 0.0])  # Φ(exit A) = 1, not zeroed
        wrong = model.reward + gamma * phi[None, None, :] - phi[:, None, None]
        qw = optimal_q(model, gamma, wrong)
        assert qw[0].argmax() == 0  # the shaped task now prefers exit A
        right = shape_tabular(model.reward, phi, gamma, model.terminal)
        assert optimal_q(model, gamma, right)[0].argmax() == 1


def test_negative_control_progress_bonus_creates_positive_cycle():
    # Chain 0-1-2-3(goal); a progress bonus b·1[d(s') < d(s)] is not a potential
    # difference: stepping back and forth 1 <-> 2 earns b every other step.
    s, gamma, b = 4, 0.99, 0.5
    t = np.zeros((s, 2, s))
    for i in range(3):
        t[i, 0, max(i - 1, 0)] = 1.0  # back
        t[i, 1, i + 1] = 1.0  # forward
    t[3, :, 3] = 1.0
    r = np.zeros((s, 2, s))
    r[2, 1, 3] = 1.0
    term = np.array([False, False, False, True])
    model = rk.core.TabularModel(t, r, term, np.zeros(s, np.uint32), np.eye(s)[0])
    dist = np.array([3, 2, 1, 0])
    bonus = r + b * (dist[None, None, :] < dist[:, None, None])
    with jax.enable_x64(True):
        assert optimal_q(model, gamma)[1].argmax() == 1  # go forward
        qb = optimal_q(model, gamma, bonus)
        assert qb[2].argmax() == 0  # loop back instead of finishing: the task changed
        phi = -dist.astype(float)
        qs = optimal_q(model, gamma, shape_tabular(r, phi, gamma, term))
        assert qs[2].argmax() == 1 and qs[1].argmax() == 1


@hypothesis.settings(max_examples=10)
@hypothesis.given(st.integers(0, 2**31 - 1), st.sampled_from([0.9, 0.99]))
def test_time_indexed_potential_is_invariant_on_the_time_product(seed, gamma):
    # Dynamic PBRS with Φ(s, t) is static PBRS on the (s, t) product MDP (finite
    # horizon H, time capped at H): optimal actions of the product are kept.
    rng = np.random.default_rng(seed)
    s, a, h = 6, 2, 4
    t, r0, term0 = garnet(rng, s, a, 2, 1)
    n = s * (h + 1)
    tp = np.zeros((n, a, n))
    rp = np.zeros((n, a, n))
    for k in range(h + 1):
        k2 = min(k + 1, h)
        tp[k * s : (k + 1) * s, :, k2 * s : (k2 + 1) * s] = t
        rp[k * s : (k + 1) * s, :, k2 * s : (k2 + 1) * s] = r0
    term = np.tile(term0, h + 1)
    for i in np.flatnonzero(term):
        tp[i] = 0.0
        tp[i, :, i] = 1.0
        rp[i] = 0.0
    prod = rk.core.TabularModel(tp, rp, term, np.zeros(n, np.uint32), np.eye(n)[0])
    phi = rng.normal(size=n) * ~term  # Φ(s, t), a different table at every t
    with jax.enable_x64(True):
        q = optimal_q(prod, gamma)
        qs = optimal_q(prod, gamma, shape_tabular(rp, phi, gamma, term))
    live = ~term
    np.testing.assert_allclose(qs[live], (q - phi[:, None])[live], atol=1e-8)
    np.testing.assert_array_equal(best_sets(qs, live), best_sets(q, live))


# -- advice ---------------------------------------------------------------------------


def test_advice_episode_identities():
    rng = np.random.default_rng(4)
    for gamma in (0.5, 0.9, 1.0):
        la, lb = look_ahead(gamma), look_back(gamma)
        for length in (1, 3, 12):
            phis = rng.normal(size=length + 1)  # Φ(s_t, a_t); the last is Φ(s_T, a_T)
            ahead, back = 0.0, 0.0
            state = lb.init(np.float64(0.0))
            for t in range(length):
                term = t == length - 1
                ahead += gamma**t * la.term(phis[t], phis[t + 1], term, False)
                f, state = lb.step(state, phis[t], term, False)
                back += gamma**t * f
            assert abs(ahead + phis[0]) <= 1e-12
            assert abs(back) <= 1e-12


def test_look_ahead_fixed_point_and_action_bias():
    # Q̂(s,a) ← E[r + γΦ(s',b*) − Φ(s,a) + γQ̂(s',b*)], b* = argmax (Q̂ + Φ)(s', ·)
    # converges to Q* − Φ(s,a), and argmax (Q̂ + Φ) = argmax Q*; argmax Q̂ differs.
    gamma = 0.9
    differs = 0
    for seed in range(6):
        t, r3, term = garnet(np.random.default_rng(seed), 8, 3, 2, 1)
        r = np.einsum("sat,sat->sa", t, r3)
        adv = np.random.default_rng(seed).normal(size=(8, 3)) * 3.0 * ~term[:, None]
        la = look_ahead(gamma)
        qh = np.zeros((8, 3))
        for _ in range(2000):
            sel = la.action_bias(qh, adv)
            b = sel.argmax(-1)
            nxt = qh[np.arange(8), b]
            phi_next = adv[np.arange(8), b]
            # F's expectation over s': γΦ(s', b*)·[s' not terminal] − Φ(s, a).
            target = (
                r
                + np.einsum("sat,t->sa", t, ~term * (gamma * phi_next + gamma * nxt))
                - adv
            )
            qh = np.where(term[:, None], 0.0, target)
        m64 = rk.core.TabularModel(t, r3, term, np.zeros(8, np.uint32), np.eye(8)[0])
        with jax.enable_x64(True):
            q = optimal_q(m64, gamma)
        live = ~term
        np.testing.assert_allclose(qh[live], (q - adv)[live], atol=1e-8)
        np.testing.assert_array_equal(
            la.action_bias(qh, adv)[live].argmax(-1), q[live].argmax(-1)
        )
        differs += int((qh[live].argmax(-1) != q[live].argmax(-1)).any())
    assert differs >= 1  # negative control: acting on Q̂ alone goes wrong


# -- Q-initialisation equivalence (Wiewiora 2003), the truncation negative control ---


def _experience(rng, model, steps, limit):
    """A fixed random-walk stream with terminations and time-outs."""
    t, term = np.asarray(model.transitions), np.asarray(model.terminal)
    s_count = t.shape[0]
    out, s, k = [], 0, 0
    for _ in range(steps):
        a = int(rng.integers(t.shape[1]))
        s2 = int(rng.choice(s_count, p=t[s, a]))
        k += 1
        terminated = bool(term[s2])
        truncated = k >= limit and not terminated
        out.append((s, a, float(model.reward[s, a, s2]), s2, terminated, truncated))
        if terminated or truncated:
            s, k = 0, 0
        else:
            s = s2
    return out


def _q_learning(stream, q0, gamma, alpha, shaping=None, phi=None):
    q = q0.copy()
    gaps = []
    state = None
    for s, a, r, s2, term, trunc in stream:
        if shaping is not None:
            if state is None:
                state = shaping.init(np.float64(phi[s]))
            f, _, state = shaping.step(state, np.float64(phi[s2]), term, trunc)
            r = r + f
            if term or trunc:
                state = None
        target = r + (0.0 if term else gamma * q[s2].max())
        q[s, a] += alpha * (target - q[s, a])
        gaps.append(q.copy())
    return gaps


def test_q_init_equivalence_needs_bootstrap_truncation():
    rng = np.random.default_rng(7)
    t, r, term = garnet(rng, 12, 3, 3, 2)
    model = rk.core.TabularModel(t, r, term, np.zeros(12, np.uint32), np.eye(12)[0])
    phi = rng.normal(size=12) * 3.0 * ~term
    stream = _experience(rng, model, 600, limit=7)
    assert any(tr for *_, tr in stream) and any(te for *_, te, _ in stream)
    gamma, alpha = 0.95, 0.5
    unshaped = _q_learning(stream, np.zeros((12, 3)) + phi[:, None], gamma, alpha)
    for truncation, holds in (("bootstrap", True), ("zero", False)):
        shaping = rk.shaping.shaper(gamma, truncation=truncation)
        shaped = _q_learning(stream, np.zeros((12, 3)), gamma, alpha, shaping, phi)
        worst = max(
            np.abs((qu - qs) - phi[:, None])[~term].max()
            for qu, qs in zip(unshaped, shaped, strict=True)
        )
        assert bool(worst <= 1e-9) is holds, (truncation, worst)
