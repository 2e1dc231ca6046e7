"""Shared builders for the automata tests (no tests here).

Random machines come from a seeded ``random.Random`` that retries until the machine
is valid, so hypothesis only draws the seed and never filters.
"""

import random
import warnings

from experiments.machines_flat_vs_hierarchy import doubling  # noqa: F401 - re-exported
from rewardkit.core import RewardkitWarning
from rewardkit.machines import (
    HierarchicalRewardMachine,
    LabelDomain,
    NondeterminismError,
    RewardMachine,
)

PROPS = ("a", "b", "c", "d")


def quiet(build):
    """Builds with structure warnings (dead ends, unreachable states) ignored."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RewardkitWarning)
        return build()


def _guard(rng, props, used):
    """A guard on a fresh proposition that excludes the ones used before."""
    free = [p for p in props if p not in used]
    if not free:
        return None
    p = rng.choice(free)
    parts = [p] + [f"!{q}" for q in sorted(used)]
    used.add(p)
    if rng.random() < 0.3:
        q = rng.choice([x for x in props if x != p])
        parts.append(f"!{q}" if rng.random() < 0.5 else f"({q} | !{q})")
    return " & ".join(parts)


def random_flat_spec(rng, props=PROPS, max_states=5):
    n = rng.randint(2, max_states)
    states = [f"s{i}" for i in range(n)]
    accepting = ["acc"]
    rejecting = ["rej"] if rng.random() < 0.5 else []
    edges = []
    for u in states:
        used = set()
        for _ in range(rng.randint(1, 3)):
            v = rng.choice(states + accepting + rejecting)
            guard = _guard(rng, props, used)
            if guard is not None:
                edges.append((u, v, guard, rng.choice([0.0, 1.0, -0.5])))
    return {
        "name": "random",
        "propositions": list(props),
        "initial": "s0",
        "accepting": accepting,
        "rejecting": rejecting,
        "on_unmatched": rng.choice(["stay", "reject"]),
        "edges": edges,
    }


def random_flat(seed, props=PROPS, domain=None, max_states=5):
    """A valid random flat machine (retries on non-determinism)."""
    rng = random.Random(seed)
    while True:
        spec = random_flat_spec(rng, props, max_states)
        try:
            return quiet(lambda s=spec: RewardMachine.from_dict(s, label_domain=domain))
        except NondeterminismError:
            continue


def random_member(rng, callees, props):
    n = rng.randint(2, 3)
    states = list(range(n))
    edges = []
    for u in states:
        used = set()
        targets = [*states, "acc", "acc"] + (["rej"] if rng.random() < 0.2 else [])
        if callees and rng.random() < 0.5:
            # One call per state; its context excludes the formula edges' atoms.
            n_formula = rng.randint(0, 1)
            for _ in range(n_formula):
                guard = _guard(rng, props, used)
                edges.append((u, rng.choice(targets), guard, rng.choice([0.0, 1.0])))
            context = " & ".join(f"!{p}" for p in sorted(used)) or rng.choice(
                ["true", f"!{rng.choice(props)}"]
            )
            edges.append(
                {
                    "source": u,
                    "target": rng.choice(targets),
                    "call": rng.choice(callees),
                    "context": context,
                    "reward": rng.choice([0.0, 1.0, 0.25]),
                }
            )
            continue
        for _ in range(rng.randint(1, 2)):
            guard = _guard(rng, props, used)
            edges.append((u, rng.choice(targets), guard, rng.choice([0.0, 1.0, 0.25])))
    rejecting = (
        ["rej"]
        if any((e["target"] if isinstance(e, dict) else e[1]) == "rej" for e in edges)
        else []
    )
    return {
        "initial": 0,
        "accepting": ["acc"],
        "rejecting": rejecting,
        "on_unmatched": rng.choice(["stay", "stay", "reject"]),
        "edges": edges,
    }


def random_hierarchy(seed, height, props=PROPS, domain=None):
    """A valid random hierarchy of exactly ``height`` levels (retries)."""
    rng = random.Random(seed)
    while True:
        machines, levels = {}, []
        for level in range(height):
            names = [f"m{level}_{j}" for j in range(1 if level == height - 1 else 2)]
            lower = levels[-1] if levels else []
            for name in names:
                spec = random_member(rng, lower, props)
                if lower and not any(isinstance(e, dict) for e in spec["edges"]):
                    spec["edges"].append(
                        {"source": 0, "target": "acc", "call": rng.choice(lower)}
                    )
                machines[name] = spec
            levels.append(names)
        root = levels[-1][0]
        try:
            h = quiet(
                lambda m=machines, r=root: HierarchicalRewardMachine(
                    r, m, propositions=props, label_domain=domain
                )
            )
        except NondeterminismError:
            continue
        if h.height == height:
            return h


def random_trace(rng, domain, length):
    labels = domain.labels()
    return [labels[rng.randrange(len(labels))] for _ in range(length)]


def all_subsets(props=PROPS):
    return LabelDomain.all_subsets(props)
