"""Reward machines and their hierarchies: author on networkx, run on arrays.

Automata layer (formulas, machines, hierarchies, compilation, I/O, drawing)
==========================================================================

Formulas (``_formula``)
  ``parse_formula(text: str | Formula | bool) -> Formula`` — recursive descent, never
  ``eval``; grammar: identifiers, ``TRUE/FALSE`` (also ``True/False``, ``true/false``),
  ``!``/``~`` > ``&`` > ``|``, parentheses. Bad text raises ``FormulaSyntaxError``
  (a ``ConfigError``, hence ``ValueError``) with the column.
  ``Formula`` (frozen, hashable): ``.propositions -> frozenset[str]``,
  ``.evaluate(true_props: Iterable[str]) -> bool``,
  ``.dnf(propositions: Sequence[str]) -> tuple[Clause, ...]`` (contradictions dropped,
  subsumed clauses removed, capped at 256 clauses), ``str(f)`` re-parses to ``f``,
  ``Formula.from_clauses(clauses, propositions) -> Formula``.
  ``Clause(pos: int, neg: int)`` NamedTuple of bitmasks over an ordered proposition
  tuple (bit i <=> propositions[i]); ``.satisfied_by(mask) -> bool``.
  ``label_to_mask(label: Iterable[str], propositions) -> int`` and
  ``mask_to_label(mask, propositions) -> frozenset[str]``.
  ``LabelDomain.all_subsets(props)``, ``.at_most_one(props)``,
  ``.explicit(labels: Iterable[Iterable[str]], propositions=None)``; fields
  ``propositions: tuple[str, ...]``, ``kind``; ``.labels() -> tuple[frozenset[str]]``,
  ``.masks(propositions=None) -> np.ndarray`` (uint32, same order as ``labels()``),
  ``.contains(label) -> bool``.

Errors and warnings (``_errors``)
  ``ConfigError`` subclasses: ``FormulaSyntaxError``, ``MachineDefinitionError``,
  ``NondeterminismError``, ``UnknownPropositionError``, ``UnknownMachineError``,
  ``CallCycleError``. ``RewardkitWarning`` subclasses: ``UnreachableStateWarning``,
  ``DeadEndWarning``, ``UnsatisfiableEdgeWarning``, ``ClassicFormatWarning`` (lossy
  classic-format import/export and the legacy fall-off semantics).

``RewardMachine`` (``_machine``), frozen, validated on construction
  ``RewardMachine.from_graph(graph, *, label_domain=None, on_unmatched="stay")`` —
  graph attributes ``name``, ``propositions``; node ``initial``, ``accepting``,
  ``rejecting``, ``on_unmatched`` ("stay"/"reject"), ``unmatched_reward`` (0.0; only
  the legacy fall-off semantics set it); edge ``formula`` (TRUE), ``reward`` (0.0).
  ``RewardMachine.from_dict(spec, *, label_domain=None)`` — keys ``name``,
  ``propositions``, ``initial``, ``accepting``, ``rejecting``, ``on_unmatched``,
  ``edges`` (tuples ``(u, v, formula[, reward])`` or dicts with those keys).
  ``RewardMachine.from_edges(edges, *, initial, accepting=(), rejecting=(),
  propositions=None, name="machine", on_unmatched="stay", label_domain=None)``.
  A state whose default is "reject" and a machine without a rejecting state get a
  rejecting sink node ``"rejected"``. Attributes: ``name``, ``propositions``,
  ``states`` (tuple; index i is compiled row i), ``initial``, ``accepting``,
  ``rejecting`` (frozensets), ``on_unmatched`` (machine default), ``label_domain``,
  ``edges`` (tuple of ``Edge(source, target, key, formula, reward, call, context)``;
  ``call`` is None and ``context`` TRUE for formula edges).
  Methods: ``state_index(u)``, ``is_terminal(u)``, ``unmatched(u) -> (target,
  reward)``, ``out_edges(u)``, ``step(u, label: Iterable[str]) -> (v, reward)``
  (graph semantics, the slow reference), ``run(labels) -> Outcome(states, rewards,
  accepted, rejected)``, ``to_graph()`` (a copy), ``to_dot()``, ``draw(ax=None)``,
  ``to_json()``, ``to_classic()``, ``flatten()`` (itself).

``HierarchicalRewardMachine(root, machines, *, propositions=None, label_domain=None)``
  (``_hierarchy``) — ``machines`` maps a name to a ``networkx.MultiDiGraph``, a dict as
  for ``from_dict`` or a ``RewardMachine``; call edges carry ``call=<name>`` and
  ``context=<formula>`` (TRUE) instead of ``formula``. Attributes ``root``,
  ``machines`` (name -> ``RewardMachine`` member; its ``edges`` include call edges),
  ``propositions``, ``label_domain``, ``height``. ``initial_state() ->
  HierarchyState(machine, state, stack)`` with frames ``Frame(caller, return_state,
  call_reward)``; ``step(hstate, label) -> (hstate, reward)``; ``is_accepting(hstate)``,
  ``is_rejecting(hstate)``; ``run(labels) -> Outcome``; ``flatten() -> RewardMachine``
  (also the function ``flatten(h)``); ``to_dot()``, ``draw(ax=None)``, ``to_json()``.

Compilation (``_compile``)
  ``compile(machine, propositions=None, *, label_domain=None, mode="auto") ->
  CompiledMachine``: ``propositions`` is the env's bit order (None: the machine's);
  a hierarchy compiles through ``flatten()``. ``CompiledMachine`` (NamedTuple pytree):
  ``next_state int32[U, L]``, ``reward float32[U, L]``, ``accepting/rejecting
  bool[U]``, ``initial int32[]``, ``prop_bits uint32[Pu]`` (env bit of each used
  proposition; empty when ``label_index`` is indexed by the raw label, i.e. up to 12
  env propositions), ``label_index int32[2**P or 2**Pu]`` (label -> column),
  ``column_in_domain bool[L]``, ``default_next``/``default_reward [U]`` and the
  clause-mode tables (empty in dense mode). ``.step(machine_state, label) ->
  (machine_state, reward, accepted, rejected)`` is pure array-API code: it runs under
  ``jit``/``vmap`` on JAX and on the host on NumPy. ``.num_states``,
  ``.num_columns``; ``.columns()`` gives one representative raw label per column
  (for value iteration over label columns). ``minimize(rm, label_domain=None) ->
  RewardMachine`` (partition refinement).
  ``compile_hierarchy(h, propositions=None, *, label_domain=None) ->
  CompiledHierarchy`` (for option methods): machines padded to ``[R, S]`` (order of
  ``h.machines``), precomputed first-step resolutions ``[R, S, L]`` with pushed
  frames ``[R, S, L, H, 2]``; ``.initial_state() -> HierarchyArrays(machine, state,
  stack int32[H, 2], stack_reward float32[H], depth)``; ``.step(hstate, label) ->
  (hstate, reward, accepted, rejected)``, array-API like ``CompiledMachine.step``.

I/O and drawing (``_io``, ``_draw``)
  ``parse_classic(text, *, propositions=None, on_unmatched="reject", rejecting=(),
  legacy_falloff_reward=False, name="machine") -> RewardMachine``, ``to_classic(rm)
  -> str``, ``to_json(machine) -> str``, ``from_json(text)`` (versioned schema),
  ``to_dot(machine) -> str``, ``draw(machine, ax=None)`` (matplotlib imported lazily).
"""

from rewardkit.machines import functional, tasks, vector
from rewardkit.machines._compile import CompiledMachine, compile, minimize
from rewardkit.machines._compile_hierarchy import (
    CompiledHierarchy,
    HierarchyArrays,
    compile_hierarchy,
)
from rewardkit.machines._counterfactual import (
    counterfactual_transitions,
    machine_q_view,
)
from rewardkit.machines._draw import draw, to_dot
from rewardkit.machines._edge_options import EdgeOptions, edge_options
from rewardkit.machines._errors import (
    CallCycleError,
    ClassicFormatWarning,
    DeadEndWarning,
    FormulaSyntaxError,
    MachineDefinitionError,
    NondeterminismError,
    UnknownMachineError,
    UnknownPropositionError,
    UnreachableStateWarning,
    UnsatisfiableEdgeWarning,
)
from rewardkit.machines._formula import (
    Clause,
    Formula,
    LabelDomain,
    label_to_mask,
    mask_to_label,
    parse_formula,
)
from rewardkit.machines._hierarchy import (
    Frame,
    HierarchicalRewardMachine,
    HierarchyState,
    flatten,
)
from rewardkit.machines._io import from_json, parse_classic, to_classic, to_json
from rewardkit.machines._labeling import (
    LabelFilter,
    LabelFn,
    MiniGridLabeler,
    default_label_fn,
    labels_to_mask,
)
from rewardkit.machines._machine import Edge, Outcome, RewardMachine
from rewardkit.machines._potential import (
    MachinePotential,
    machine_as_tabular_model,
    machine_potential,
)
from rewardkit.machines._product_gym import ProductEnv
from rewardkit.machines._product_model import (
    epsilon_greedy_reward_per_step,
    epsilon_greedy_values,
    optimal_episode_length,
    product_tabular_model,
)
from rewardkit.machines._tasks_table import TaskMachines, compile_tasks

__all__ = [
    "CallCycleError",
    "ClassicFormatWarning",
    "Clause",
    "CompiledHierarchy",
    "CompiledMachine",
    "DeadEndWarning",
    "Edge",
    "EdgeOptions",
    "Formula",
    "FormulaSyntaxError",
    "Frame",
    "HierarchicalRewardMachine",
    "HierarchyArrays",
    "HierarchyState",
    "LabelDomain",
    "LabelFilter",
    "LabelFn",
    "MachineDefinitionError",
    "MachinePotential",
    "MiniGridLabeler",
    "NondeterminismError",
    "Outcome",
    "ProductEnv",
    "RewardMachine",
    "TaskMachines",
    "UnknownMachineError",
    "UnknownPropositionError",
    "UnreachableStateWarning",
    "UnsatisfiableEdgeWarning",
    "compile",
    "compile_hierarchy",
    "compile_tasks",
    "counterfactual_transitions",
    "default_label_fn",
    "draw",
    "edge_options",
    "epsilon_greedy_reward_per_step",
    "epsilon_greedy_values",
    "flatten",
    "from_json",
    "functional",
    "label_to_mask",
    "labels_to_mask",
    "machine_as_tabular_model",
    "machine_potential",
    "machine_q_view",
    "mask_to_label",
    "minimize",
    "optimal_episode_length",
    "parse_classic",
    "parse_formula",
    "product_tabular_model",
    "tasks",
    "to_classic",
    "to_dot",
    "to_json",
    "vector",
]

tasks.register_tasks()
