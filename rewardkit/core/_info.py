"""The ``info`` reward-key contract shared by every reward wrapper.

1. ``info["extrinsic_reward"]`` is the base reward as the agent may see it, written
   once by the innermost rewardkit wrapper (set-if-absent).
2. A wrapper that adds a term writes ``info[f"{name}_reward"]``; a duplicate name in
   one stack is a :class:`ConfigError` when the stack is built.
3. ``reward == keeps_base * extrinsic_reward + sum(added terms)``.
4. Diagnostics (``proxy_reward``, ``privileged_env_reward``, ``reward_observed``,
   ``intrinsic_reward_raw``, ``<name>_potential``, ``<name>_advice``) are not terms.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from rewardkit.core._errors import ConfigError

__all__ = [
    "EXTRINSIC_REWARD",
    "RewardTerm",
    "check_term_name",
    "reward_terms",
    "term_key",
]

EXTRINSIC_REWARD = "extrinsic_reward"


class RewardTerm(NamedTuple):
    """A reward wrapper's declaration, as found by :func:`reward_terms`."""

    name: str
    key: str
    keeps_base: bool
    adds_term: bool


def term_key(name: str) -> str:
    """The ``info`` key of a wrapper's term.

    Example:
      >>> term_key("shaping")
      'shaping_reward'
    """
    return f"{name}_reward"


def _inner(env: Any) -> Any:
    inner = getattr(env, "env", None)
    return None if inner is env else inner


def reward_terms(env: Any) -> list[RewardTerm]:
    """The reward terms declared by the wrappers of a stack, outermost first.

    Walks ``.env`` links through Gymnasium wrappers, vector wrappers and functional
    wrappers alike; a wrapper declares a term by its ``reward_name`` attribute.

    Example:
      >>> reward_terms(object())
      []
    """
    terms, node, seen = [], env, set()
    while node is not None and id(node) not in seen:
        seen.add(id(node))
        name = getattr(node, "reward_name", None)
        if isinstance(name, str):
            terms.append(
                RewardTerm(
                    name,
                    term_key(name),
                    bool(getattr(node, "keeps_base", True)),
                    bool(getattr(node, "adds_term", True)),
                )
            )
        node = _inner(node)
    return terms


def check_term_name(env: Any, name: Any) -> str:
    """Checks a new wrapper's ``name`` against the terms already in ``env``'s stack.

    Raises:
      ConfigError: if ``name`` is not a non-empty identifier or is already used.

    Example:
      >>> check_term_name(object(), "shaping")
      'shaping'
    """
    if not (isinstance(name, str) and name.isidentifier()):
        raise ConfigError(f"`name` must be a non-empty identifier; got {name!r}.")
    if name == "extrinsic":
        raise ConfigError("`name` 'extrinsic' is reserved for the base reward.")
    for term in reward_terms(env):
        if term.name == name:
            raise ConfigError(
                f"`name` {name!r} is already used by an inner wrapper of this stack "
                f"(its term is info[{term.key!r}]); give this wrapper another name."
            )
    return name
