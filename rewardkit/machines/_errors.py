"""Errors and warnings of reward machines and their hierarchies.

Every error is a ``rk.core.ConfigError`` (hence a ``ValueError``) and every warning a
``rk.core.RewardkitWarning``; messages name the machine, the states, the edges and,
for conflicts, a witness label.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator

from rewardkit.core import ConfigError, RewardkitWarning

__all__ = [
    "CallCycleError",
    "ClassicFormatWarning",
    "DeadEndWarning",
    "FormulaSyntaxError",
    "MachineDefinitionError",
    "NondeterminismError",
    "UnknownMachineError",
    "UnknownPropositionError",
    "UnreachableStateWarning",
    "UnsatisfiableEdgeWarning",
]


class FormulaSyntaxError(ConfigError):
    """A propositional formula does not parse; the message gives the column.

    Example:
      >>> issubclass(FormulaSyntaxError, ValueError)
      True
    """


class MachineDefinitionError(ConfigError):
    """A machine's structure is invalid (initial, terminal states, rewards).

    Example:
      >>> issubclass(MachineDefinitionError, ConfigError)
      True
    """


class NondeterminismError(ConfigError):
    """Two edges leaving one state with different outcomes match one label.

    Example:
      >>> issubclass(NondeterminismError, ConfigError)
      True
    """


class UnknownPropositionError(ConfigError):
    """A formula names a proposition outside the machine's or the env's set.

    Example:
      >>> issubclass(UnknownPropositionError, ConfigError)
      True
    """


class UnknownMachineError(ConfigError):
    """A call edge names a machine that the hierarchy does not hold.

    Example:
      >>> issubclass(UnknownMachineError, ConfigError)
      True
    """


class CallCycleError(ConfigError):
    """The call graph of a hierarchy has a cycle (recursion is not allowed).

    Example:
      >>> issubclass(CallCycleError, ConfigError)
      True
    """


class UnreachableStateWarning(RewardkitWarning):
    """A state cannot be reached from the initial state.

    Example:
      >>> issubclass(UnreachableStateWarning, UserWarning)
      True
    """


class DeadEndWarning(RewardkitWarning):
    """A non-terminal state cannot reach an accepting state.

    Example:
      >>> issubclass(DeadEndWarning, UserWarning)
      True
    """


class UnsatisfiableEdgeWarning(RewardkitWarning):
    """No label of the domain satisfies an edge's guard.

    Example:
      >>> issubclass(UnsatisfiableEdgeWarning, UserWarning)
      True
    """


class ClassicFormatWarning(RewardkitWarning):
    """A classic-format import or export loses information, or legacy semantics.

    Example:
      >>> issubclass(ClassicFormatWarning, UserWarning)
      True
    """


@contextlib.contextmanager
def _without_structure_warnings() -> Iterator[None]:
    """Ignores unreachable-state, dead-end and unsatisfiable-edge warnings."""
    with warnings.catch_warnings():
        for w in (UnreachableStateWarning, DeadEndWarning, UnsatisfiableEdgeWarning):
            warnings.simplefilter("ignore", w)
        yield
