"""Slow, independent float64 NumPy reference for rewardkit.distances (tests only).

Plain formulas with np.linalg.solve / lstsq, no caching; the library never imports
it. Rewards are [S, A, S] (compact ones are broadcast first by the caller).
"""

import numpy as np


def mask(r, absorbing):
    r = np.array(r, np.float64)
    if absorbing is None:
        return r
    for s in np.flatnonzero(absorbing):
        if r.ndim == 2:
            r[s] = 0.0
        else:
            r[s, :, s] = 0.0
    return r


def full(r, n_states):
    r = np.asarray(r, np.float64)
    return r if r.ndim == 3 else np.repeat(r[:, :, None], n_states, axis=2)


def rbar(r, t):
    r = np.asarray(r, np.float64)
    return r if r.ndim == 2 else (t * r).sum(-1)


def tabs(r, t):
    r = np.abs(np.asarray(r, np.float64))
    return r if r.ndim == 2 else (t * r).sum(-1)


def uniform_policy(s, a):
    return np.full((s, a), 1.0 / a)


def policy_values(r, t, gamma, pi):
    s = t.shape[0]
    p = np.einsum("sa,sat->st", pi, t)
    r_pi = (pi * rbar(r, t)).sum(-1)
    return np.linalg.solve(np.eye(s) - gamma * p, r_pi)


def level(r, t, gamma, phi):
    return rbar(r, t) + gamma * t @ phi - phi[:, None]


def level_bound(r, t, gamma, phi):
    return tabs(r, t) + gamma * t @ np.abs(phi) + np.abs(phi)[:, None]


def val(r, t, gamma, pi=None):
    s, a, _ = t.shape
    pi = uniform_policy(s, a) if pi is None else pi
    v = policy_values(r, t, gamma, pi)
    return level(r, t, gamma, v), level_bound(r, t, gamma, v)


def minimal(r, t, gamma, kind="transition", d=None, absorbing=None):
    s, a, _ = t.shape
    m = gamma * t.reshape(s * a, s)
    for i in range(s):
        m[i * a : (i + 1) * a, i] -= 1.0
    if absorbing is not None:
        m[:, np.asarray(absorbing, bool)] = 0.0  # Φ(s⊥) = 0
    if kind == "flat":
        d = 1.0 / (t * t).sum(-1)
    elif d is None:
        d = np.full((s, a), 1.0 / (s * a))
    w = np.sqrt(d.reshape(-1))
    # argmin_Φ Σ D (r̄ + MΦ)² by least squares (independent of the Cholesky path)
    phi = np.linalg.lstsq(w[:, None] * m, -w * rbar(r, t).reshape(-1), rcond=None)[0]
    out, b = level(r, t, gamma, phi), level_bound(r, t, gamma, phi)
    if kind == "flat":
        sc = t / (t * t).sum(-1, keepdims=True)
        return out[..., None] * sc, b[..., None] * sc
    return out, b


def epic(r, gamma, ds, da):
    r = np.asarray(r, np.float64)
    s, a, _ = r.shape
    out = np.empty_like(r)
    # Expectations written as explicit sums.
    m = np.array(
        [
            sum(da[u] * ds[y] * r[x, u, y] for u in range(a) for y in range(s))
            for x in range(s)
        ]
    )
    mbar = float(ds @ m)
    for x in range(s):
        for u in range(a):
            for y in range(s):
                out[x, u, y] = r[x, u, y] + gamma * m[y] - m[x] - gamma * mbar
    return out, np.full(r.shape, (2 + 2 * gamma) * np.abs(r).max())


def dard(r, t, gamma, da):
    """DARD by the joint expectation over A, S' ~ T(s,A), S'' ~ T(s',A)."""
    r = np.asarray(r, np.float64)
    s, a, _ = r.shape
    out = np.empty_like(r)
    for x in range(s):
        for y in range(s):
            e = 0.0
            for u in range(a):
                for x1 in range(s):
                    for y1 in range(s):
                        p = da[u] * t[x, u, x1] * t[y, u, y1]
                        if p:
                            e += p * (
                                gamma * r[y, u, y1] - r[x, u, x1] - gamma * r[x1, u, y1]
                            )
            out[x, :, y] = r[x, :, y] + e
    return out, np.full(r.shape, (2 + 2 * gamma) * np.abs(r).max())


def value_potential(r, t, gamma, pi=None):
    s, a, _ = t.shape
    pi = uniform_policy(s, a) if pi is None else pi
    v = policy_values(r, t, gamma, pi)
    rf = full(r, s)
    out = rf - v[:, None, None] + gamma * v[None, None, :]
    b = np.abs(rf) + np.abs(v)[:, None, None] + gamma * np.abs(v)[None, None, :]
    return out, b


def identity(r, gamma, s):
    rf = full(r, s)
    return rf, np.full(rf.shape, (2 + 2 * gamma) * np.abs(rf).max())


def canon(name, r, t, gamma, absorbing=None, ds=None, da=None, pi=None):
    s, a, _ = t.shape
    ds = np.full(s, 1.0 / s) if ds is None else ds
    da = np.full(a, 1.0 / a) if da is None else da
    r = mask(r, absorbing)
    if name == "val":
        return val(r, t, gamma, pi)
    if name == "minimal_l2":
        return minimal(r, t, gamma, absorbing=absorbing)
    if name == "minimal_l2_flat":
        return minimal(r, t, gamma, "flat", absorbing=absorbing)
    if name == "epic":
        return epic(full(r, s), gamma, ds, da)
    if name == "dard":
        return dard(full(r, s), t, gamma, da)
    if name == "value_potential":
        return value_potential(r, t, gamma, pi)
    return identity(r, gamma, s)


def weights(mode, shape, t):
    s, a = shape[0], shape[1]
    if mode is None:
        return np.ones(shape), np.ones(shape)
    if mode == "transition":
        if len(shape) == 2:
            return np.full(shape, 1.0 / (s * a)), np.ones(shape)
        return t / (s * a), (t > 0).astype(float)
    if mode == "authors":
        if len(shape) == 2:
            return np.ones(shape), t.max(-1)
        return t, t
    w = np.asarray(mode, np.float64)
    return w, (w > 0).astype(float)


def norm(x, p, w, winf):
    if p == "none":
        return 1.0
    if p == np.inf:
        return float(np.max(np.abs(x) * winf))
    return float(np.sum(w * np.abs(x) ** p) ** (1.0 / p))


def starc(
    r1,
    r2,
    t,
    gamma,
    name="val",
    p=2,
    q=None,
    wmode=None,
    qmode="same",
    absorbing=None,
    rtol=1e-10,
    half=False,
    pi=None,
):
    q = p if q is None else q
    qmode = wmode if qmode == "same" else qmode
    stds = []
    for r in (r1, r2):
        c, b = canon(name, r, t, gamma, absorbing, pi=pi)
        w, wi = weights(wmode, c.shape, t)
        pp = 2 if p == "none" else p
        n, nb = norm(c, pp, w, wi), norm(b, pp, w, wi)
        if n <= rtol * nb:
            stds.append(np.zeros_like(c))
        else:
            stds.append(c if p == "none" else c / n)
    w, wi = weights(qmode, stds[0].shape, t)
    d = norm(stds[0] - stds[1], q, w, wi)
    return d / 2 if half else d


def pearson(name, r1, r2, t, gamma, coverage=None, absorbing=None, rtol=1e-10):
    """D_ρ computed naively from the correlation (fine in float64 for generic pairs)."""
    s, a, _ = t.shape
    c1, b1 = canon(name, r1, t, gamma, absorbing)
    c2, b2 = canon(name, r2, t, gamma, absorbing)
    if coverage is None:
        coverage = (
            np.full((s, a, s), 1.0 / (s * a * s)) if name == "epic" else t / (s * a)
        )

    def cstd(c, b):
        x = c - (coverage * c).sum()
        sd = np.sqrt((coverage * x * x).sum())
        nb = np.sqrt((coverage * b * b).sum())
        return None if sd <= rtol * nb else x / sd

    x, y = cstd(c1, b1), cstd(c2, b2)
    if x is None and y is None:
        return 0.0
    if x is None or y is None:
        return 0.5
    rho = (coverage * x * y).sum()
    return float(np.sqrt(max(0.0, (1 - rho) / 2)))


# --------------------------------------------------------------------- planning


def evaluate(r, t, gamma, actions, absorbing=None):
    a = t.shape[1]
    pi = np.eye(a)[actions]
    return policy_values(mask(r, absorbing), t, gamma, pi)


def policy_iteration(r, t, gamma, absorbing=None):
    s = t.shape[0]
    r = mask(r, absorbing)
    act = np.zeros(s, int)
    for _ in range(1000):
        v = evaluate(r, t, gamma, act)
        q = rbar(r, t) + gamma * t @ v
        best = q.argmax(-1)
        keep = q[np.arange(s), act] >= q.max(-1) - 1e-12 * max(1.0, np.abs(q).max())
        new = np.where(keep, act, best)
        if np.array_equal(new, act):
            return act, v
        act = new
    return act, v


def regret(r1, r2, t, gamma, mu0, absorbing=None):
    def j(r, act):
        return float(mu0 @ evaluate(r, t, gamma, act, absorbing))

    p1 = policy_iteration(r1, t, gamma, absorbing)[0]
    p1w = policy_iteration(-np.asarray(r1), t, gamma, absorbing)[0]
    p2 = policy_iteration(r2, t, gamma, absorbing)[0]
    p2w = policy_iteration(-np.asarray(r2), t, gamma, absorbing)[0]
    d1 = j(r1, p1) - j(r1, p1w)
    d2 = j(r2, p2) - j(r2, p2w)
    g1 = (j(r1, p1) - j(r1, p2)) / (d1 if d1 != 0 else 1.0)
    g2 = (j(r2, p2) - j(r2, p1)) / (d2 if d2 != 0 else 1.0)
    return g1, g2, 0.5 * (g1 + g2)
