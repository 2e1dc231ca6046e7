"""CraftWorld's ten flat tasks (TI22) and HierarchicalCraftWorld's hierarchies (FB23)."""

from __future__ import annotations

from typing import Any

from rewardkit.core import check_choice
from rewardkit.machines._formula import LabelDomain
from rewardkit.machines._hierarchy import HierarchicalRewardMachine
from rewardkit.machines._machine import RewardMachine

__all__ = [
    "CRAFT_PROPOSITIONS",
    "HIERARCHICAL_CRAFT_TASKS",
    "craft_label_domain",
    "craft_tasks",
    "hierarchical_craft_label_domain",
    "hierarchical_craft_task",
]

#: CraftWorld's propositions: a wood, b toolshed, c workbench, d grass, e factory,
#: f iron, g gold, h gem.
CRAFT_PROPOSITIONS = ("a", "b", "c", "d", "e", "f", "g", "h")
_HCW_PROPS = ("c", "h", "i", "l", "r", "s", "t", "w", "x", "y", "z")


def craft_label_domain() -> LabelDomain:
    """At most one CraftWorld proposition holds per step.

    Example:
      >>> len(craft_label_domain().labels())
      9
    """
    return LabelDomain.at_most_one(CRAFT_PROPOSITIONS)


def _machine(name: str, edges: list[tuple], states: list[str]) -> RewardMachine:
    return RewardMachine.from_dict(
        {
            "name": name,
            "propositions": CRAFT_PROPOSITIONS,
            "states": states,
            "initial": states[0],
            "accepting": ["acc"],
            "on_unmatched": "stay",
            "edges": edges,
        },
        label_domain=craft_label_domain(),
    )


def _sequence(name: str, events: str) -> RewardMachine:
    """``e0 → e1 → … → acc`` (reward 1 on acceptance)."""
    states = [f"u{i}" for i in range(len(events))] + ["acc"]
    edges = [
        (states[i], states[i + 1], e, 1.0 if i == len(events) - 1 else 0.0)
        for i, e in enumerate(events)
    ]
    return _machine(name, edges, states)


def _then(edges: list, states: list[str], prev: str, then: str) -> list[str]:
    """Appends the events of ``then`` after ``prev`` (reward 1 into ``acc``).

    Extends ``edges`` in place; returns every state, ``acc`` last.
    """
    for k, e in enumerate(then):
        last = k == len(then) - 1
        nxt = "acc" if last else f"v{k}"
        edges.append((prev, nxt, e, 1.0 if last else 0.0))
        if not last:
            states.append(nxt)
        prev = nxt
    return [*states, "acc"]


def _both_then(name: str, first: str, second: str, then: str) -> RewardMachine:
    """``{first, second}`` in any order, then the events of ``then``."""
    edges = [
        ("u0", "u1", first, 0.0),
        ("u0", "u2", second, 0.0),
        ("u1", "u3", second, 0.0),
        ("u2", "u3", first, 0.0),
    ]
    states = ["u0", "u1", "u2", "u3"]
    return _machine(name, edges, _then(edges, states, "u3", then))


def _chain_with(name: str, chain: str, extra: str, then: str) -> RewardMachine:
    """The ``chain`` events in order, ``extra`` at any time, then ``then``."""
    k = len(chain)
    state = lambda p, q: f"p{p}q{q}"  # noqa: E731 - p chain events done, q extra done
    edges = []
    for p in range(k + 1):
        for q in (0, 1):
            if p < k:
                edges.append((state(p, q), state(p + 1, q), chain[p], 0.0))
            if q == 0:
                edges.append((state(p, q), state(p, 1), extra, 0.0))
    states = [state(p, q) for p in range(k + 1) for q in (0, 1)]
    return _machine(name, edges, _then(edges, states, state(k, 1), then))


def craft_tasks() -> tuple[RewardMachine, ...]:
    """CraftWorld's ten tasks t1–t10 (RMcode ``experiments/craft/reward_machines``).

    t1 plank ``a → b``, t2 stick ``a → c``, t3 cloth ``d → e``, t4 rope ``d → b``,
    t5 bridge ``{a, f}`` in any order then ``e``, t6 bed ``a → b`` with ``d`` at any
    time then ``c``, t7 axe ``a → c`` with ``f`` at any time then ``b``, t8 shears
    ``{a, f}`` then ``c``, t9 gold ``{a, f}`` then ``e → g``, t10 gem ``a → c`` with
    ``f`` at any time then ``b → h``. Unmatched labels stay (the reference files
    cover every label); reward 1 on acceptance; no rejecting states.

    Returns:
      ``(t1, …, t10)``, each with states in a fixed order (initial first).

    Example:
      >>> ts = craft_tasks()
      >>> [len(t.states) - 1 for t in ts]  # non-terminal states
      [2, 2, 2, 2, 4, 6, 6, 4, 5, 7]
      >>> ts[9].run([{"f"}, {"a"}, {"c"}, {"b"}, {"h"}]).accepted
      True
    """
    return (
        _sequence("craft_t1_plank", "ab"),
        _sequence("craft_t2_stick", "ac"),
        _sequence("craft_t3_cloth", "de"),
        _sequence("craft_t4_rope", "db"),
        _both_then("craft_t5_bridge", "a", "f", "e"),
        _chain_with("craft_t6_bed", "ab", "d", "c"),
        _chain_with("craft_t7_axe", "ac", "f", "b"),
        _both_then("craft_t8_shears", "a", "f", "c"),
        _both_then("craft_t9_gold", "a", "f", "eg"),
        _chain_with("craft_t10_gem", "ac", "f", "bh"),
    )


# -- HierarchicalCraftWorld (FB23; FBenvs envs/craftworld/craftworld_env.py) ----------


def _seq(*steps: Any) -> dict:
    edges = [
        step(f"u{k}", "acc" if k == len(steps) - 1 else f"u{k + 1}")
        for k, step in enumerate(steps)
    ]
    return {"initial": "u0", "accepting": ["acc"], "edges": edges}


def _f(p: str) -> Any:
    return lambda u, v: {"source": u, "target": v, "formula": p}


def _c(name: str) -> Any:
    return lambda u, v: {"source": u, "target": v, "call": name}


def _any_order(a: Any, b: Any, then: Any = None, context: str = "true") -> dict:
    """``a`` and ``b`` in any order (the second branch under ``context``), then."""
    last = "u3" if then else "acc"
    first_b = b("u0", "u2")
    key = "context" if "call" in first_b else "formula"
    if context != "true":
        first_b[key] = f"({first_b.get(key, 'true')}) & {context}"
    edges = [a("u0", "u1"), b("u1", last), first_b, a("u2", last)]
    if then:
        edges.append(then("u3", "acc"))
    return {"initial": "u0", "accepting": ["acc"], "edges": edges}


#: Member specs of FB23's CraftWorld hierarchies (FBenvs), without rewards.
_HCW = {
    "Batter": _any_order(_f("w"), _f("z"), _f("t")),
    "Bucket": _seq(_f("i"), _f("t")),
    "Compass": _any_order(_f("i"), _f("r"), _f("h")),
    "Leather": _seq(_f("y"), _f("h")),
    "Paper": _seq(_f("s"), _f("h")),
    "Quill": _any_order(_f("z"), _f("x"), _f("t")),
    "Sugar": _seq(_f("s"), _f("t")),
    "Book": _any_order(_c("Paper"), _c("Leather"), _f("t"), context="!s"),
    "Map": _any_order(_c("Paper"), _c("Compass"), _f("t")),
    "MilkBucket": _seq(_c("Bucket"), _f("c")),
    "BookQuill": _any_order(_c("Book"), _c("Quill")),
    "MilkBucketSugar": _any_order(_c("MilkBucket"), _c("Sugar")),
    "Cake": _seq(_c("Batter"), _c("MilkBucketSugar"), _f("h")),
}
#: The HierarchicalCraftWorld task names, by height (FB23).
HIERARCHICAL_CRAFT_TASKS = tuple(_HCW)


def hierarchical_craft_label_domain() -> LabelDomain:
    """At most one HierarchicalCraftWorld proposition per step (the agent's cell).

    Example:
      >>> len(hierarchical_craft_label_domain().labels())
      12
    """
    return LabelDomain.at_most_one(_HCW_PROPS)


def _member(spec: dict, *, lava: bool, root: bool) -> dict:
    edges, sources = [], []
    for e in spec["edges"]:
        e = dict(e)
        if root and e["target"] == "acc":
            e["reward"] = 1.0  # rewardkit's builders pay 1 on root acceptance
        if lava:
            key = "context" if "call" in e else "formula"
            e[key] = f"({e.get(key, 'true')}) & !l"
            sources.append(e["source"])
        edges.append(e)
    out = {**spec, "edges": edges, "propositions": _HCW_PROPS}
    if lava:
        out["edges"] = edges + [
            {"source": u, "target": "rej", "formula": "l"}
            for u in dict.fromkeys(sources)
        ]
        out["rejecting"] = ["rej"]
    return out


def hierarchical_craft_task(
    task: str = "Cake", *, lava: bool = False, flat: bool = False
) -> HierarchicalRewardMachine | RewardMachine:
    """A HierarchicalCraftWorld task as a hierarchy of reward machines (or flat).

    Heights (FB23): 1 Batter ``{w, z} → t``, Bucket ``i → t``, Compass
    ``{i, r} → h``, Leather ``y → h``, Paper ``s → h``, Quill ``{z, x} → t``,
    Sugar ``s → t``; 2 Book (``{Paper, Leather}`` any order, Leather under ``¬s``,
    then ``t``), Map (``{Paper, Compass} → t``), MilkBucket (``Bucket → c``); 3
    BookQuill, MilkBucketSugar (any order); 4 Cake (``Batter → MilkBucketSugar →
    h``). With ``lava`` every member gets a rejecting state on ``l`` and ``¬l`` on
    its other guards. Reward 1 on the root's edges into acceptance.

    Args:
      task: the task name (``HIERARCHICAL_CRAFT_TASKS``).
      lava: add the lava dead ends.
      flat: return ``h.flatten()`` instead of the hierarchy.

    Example:
      >>> h = hierarchical_craft_task("MilkBucket")
      >>> h.height, h.run([{"i"}, {"t"}, {"c"}]).rewards
      (2, (0.0, 0.0, 1.0))
      >>> len(hierarchical_craft_task("Cake", flat=True).states)
      15
    """
    check_choice("task", task, HIERARCHICAL_CRAFT_TASKS)
    machines = {
        name: _member(spec, lava=bool(lava), root=name == task)
        for name, spec in _HCW.items()
    }
    h = HierarchicalRewardMachine(
        task,
        machines,
        propositions=_HCW_PROPS,
        label_domain=hierarchical_craft_label_domain(),
    )
    return h.flatten() if flat else h
