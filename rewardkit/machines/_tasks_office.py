"""OfficeWorld's four task machines (Toro Icarte et al., ICML 2018 / JAIR 2022)."""

from __future__ import annotations

from rewardkit.machines._formula import LabelDomain
from rewardkit.machines._machine import RewardMachine

__all__ = ["OFFICE_PROPOSITIONS", "office_label_domain", "office_tasks"]

#: OfficeWorld's propositions, in the env's bit order.
OFFICE_PROPOSITIONS = ("a", "b", "c", "d", "e", "f", "g", "n")


def office_label_domain() -> LabelDomain:
    """At most one OfficeWorld proposition holds per step.

    Example:
      >>> len(office_label_domain().labels())
      9
    """
    return LabelDomain.at_most_one(OFFICE_PROPOSITIONS)


def _chain(name: str, events: list[str], legacy: bool) -> RewardMachine:
    """``u0 -e0-> u1 -e1-> ... -> acc`` with ``¬n`` guards and plants rejecting."""
    k = len(events)
    states = [f"u{i}" for i in range(k)] + ["acc", "rej"]
    edges = []
    for i, e in enumerate(events):
        target = "acc" if i == k - 1 else f"u{i + 1}"
        edges.append((f"u{i}", target, f"{e} & !n", 1.0 if i == k - 1 else 0.0))
        edges.append((f"u{i}", "rej", "n", 1.0 if legacy and i == k - 1 else 0.0))
    return _build(name, states, edges)


def _build(name: str, states: list[str], edges: list[tuple]) -> RewardMachine:
    return RewardMachine.from_dict(
        {
            "name": name,
            "propositions": OFFICE_PROPOSITIONS,
            "states": states,
            "initial": "u0",
            "accepting": ["acc"],
            "rejecting": ["rej"],
            "on_unmatched": "stay",
            "edges": edges,
        },
        label_domain=office_label_domain(),
    )


def office_tasks(*, legacy_falloff_reward: bool = False) -> tuple[RewardMachine, ...]:
    """The OfficeWorld tasks t1–t4 as reward machines over ``a b c d e f g n``.

    t1 coffee to the office (``f`` then ``g``), t2 mail to the office (``e`` then
    ``g``), t3 both in any order then the office, t4 patrol ``a → b → c → d``.
    Every guard also needs ``¬n``; a plant (``n``) rejects at reward 0; reward 1
    on acceptance; other labels stay (the reference files' self-loops).

    With ``legacy_falloff_reward=True`` the plant edge from each task's last
    non-terminal state pays 1, reproducing the reference code's fall-off bug
    (RMcode issue #50): for experiments that show its effect only.

    Args:
      legacy_falloff_reward: reproduce the fall-off reward bug.

    Returns:
      ``(t1, t2, t3, t4)``; states ``u0, …, acc, rej`` in this order.

    Example:
      >>> t1, t2, t3, t4 = office_tasks()
      >>> t1.run([{"f"}, {"g"}]).rewards, t1.run([{"f"}, {"n"}]).rejected
      ((0.0, 1.0), True)
      >>> office_tasks(legacy_falloff_reward=True)[0].run([{"f"}, {"n"}]).rewards
      (0.0, 1.0)
    """
    legacy = bool(legacy_falloff_reward)
    t1 = _chain("office_t1_coffee", ["f", "g"], legacy)
    t2 = _chain("office_t2_mail", ["e", "g"], legacy)
    t3 = _build(
        "office_t3_coffee_and_mail",
        ["u0", "u2", "u3", "u4", "acc", "rej"],
        [
            ("u0", "u2", "e & !n", 0.0),
            ("u0", "u3", "!e & f & !n", 0.0),
            ("u2", "u4", "f & !n", 0.0),
            ("u3", "u4", "e & !n", 0.0),
            ("u4", "acc", "g & !n", 1.0),
            ("u0", "rej", "n", 0.0),
            ("u2", "rej", "n", 0.0),
            ("u3", "rej", "n", 0.0),
            ("u4", "rej", "n", 1.0 if legacy else 0.0),
        ],
    )
    t4 = _chain("office_t4_patrol", ["a", "b", "c", "d"], legacy)
    return (t1, t2, t3, t4)
