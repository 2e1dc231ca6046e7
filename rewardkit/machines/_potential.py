"""Machine potentials: value iteration over the machine graph, as shaping potentials."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

from rewardkit.core import (
    ConfigError,
    TabularModel,
    check_gamma,
    find_state,
    value_iteration,
)
from rewardkit.machines._product_functional import ProductState
from rewardkit.machines._tasks_table import TaskMachines

__all__ = ["MachinePotential", "machine_as_tabular_model", "machine_potential"]


def _table(machines: Any) -> TaskMachines:
    if isinstance(machines, TaskMachines):
        return machines.as_numpy()
    table = getattr(machines, "machines", None)
    if isinstance(table, TaskMachines):
        return table.as_numpy()
    raise TypeError(
        "`machines` must be a TaskMachines (rewardkit.machines.compile_tasks) or a "
        f"ProductEnv; got {type(machines).__name__}."
    )


def machine_as_tabular_model(machines: Any) -> TabularModel:
    """The machines as a deterministic ``TabularModel``: states u, actions labels.

    Actions are the label columns of the declared domain (``in_domain``), so a max
    over actions is a max over the domain's labels; the reward of action σ in u is
    ``δ_r(u, σ)``; accepting and rejecting states are terminal.

    Args:
      machines: a :class:`TaskMachines` or a product env holding one.

    Returns:
      A float32 ``TabularModel`` with ``S = U`` and ``A = #domain columns``.

    Example:
      >>> from rewardkit.envs import OfficeWorld
      >>> from rewardkit.machines import compile_tasks
      >>> from rewardkit.machines.tasks import office_tasks
      >>> from rewardkit.machines.tasks import office_label_domain
      >>> tm = compile_tasks(office_tasks()[:1], OfficeWorld().propositions,
      ...                    label_domain=office_label_domain())
      >>> machine_as_tabular_model(tm).transitions.shape  # labels {}, f, g, n
      (4, 4, 4)
    """
    tm = _table(machines)
    cols = np.flatnonzero(tm.in_domain)
    nxt = tm.next_state[:, cols]
    u_n, l_n = nxt.shape
    t = np.zeros((u_n, l_n, u_n), np.float32)
    t[np.arange(u_n)[:, None], np.arange(l_n)[None, :], nxt] = 1.0
    reward = np.zeros((u_n, l_n, u_n), np.float32)
    reward[np.arange(u_n)[:, None], np.arange(l_n)[None, :], nxt] = tm.reward[:, cols]
    initial = np.zeros(u_n, np.float32)
    initial[tm.initial] = 1.0 / tm.num_tasks
    return TabularModel(
        transitions=t,
        reward=reward,
        terminal=np.asarray(tm.terminal, bool),
        labels=np.zeros(u_n, np.uint32),
        initial=initial,
    )


class MachinePotential:
    """Φ(u) = sign·V(u) over the flat machine index, in the three potential kinds.

    * As a functional ``Potential``, ``phi(state, params)`` reads u from the
      :class:`ProductState` at any depth of the state stack
      (``rk.core.find_state``).
    * :meth:`from_obs` is an ``ObsPotential`` over ``obs["machine"]``.
    * :meth:`from_env` is an ``EnvPotential`` reading a Gymnasium product env's
      current machine state.

    Attributes:
      values: ``[U]`` float32 Φ (zero on terminal states).
      sign: the sign applied to V.
      gamma_rs: the discount of the machine value iteration.

    Example:
      >>> phi = MachinePotential(np.float32([-0.9, -1.0, 0.0]), -1.0, 0.9)
      >>> float(phi.from_obs({"machine": np.int32(1)}))
      -1.0
    """

    def __init__(self, values: Any, sign: float, gamma_rs: float):
        self.values = np.asarray(values, np.float32)
        self.sign = float(sign)
        self.gamma_rs = float(gamma_rs)
        self._jax_values = jnp.asarray(self.values)

    def __call__(self, state: Any, params: Any = None) -> Any:
        """Φ of the machine state found in ``state`` (a JAX ``Potential``)."""
        del params  # Φ depends on the machine state only
        u = find_state(state, ProductState).machine
        return self._jax_values[u]

    def from_obs(self, obs: Any) -> Any:
        """Φ of ``obs["machine"]`` (batched or not), in the observation's namespace."""
        u = obs["machine"]
        if isinstance(u, np.ndarray | np.integer | int):
            return self.values[u]
        return self._jax_values[u]

    def from_env(self, env: Any) -> float:
        """Φ of a Gymnasium product env's current machine state (an ``EnvPotential``)."""
        u = env.get_wrapper_attr("machine_state")
        return float(self.values[int(u)])

    def __repr__(self) -> str:
        return f"MachinePotential(sign={self.sign}, gamma_rs={self.gamma_rs})"


def machine_potential(
    machines: Any, *, gamma_rs: float = 0.9, sign: float = -1.0, tol: float = 1e-7
) -> MachinePotential:
    r"""The machine potential of reward-machine shaping (Toro Icarte et al., JAIR 2022).

    .. math:: V(u) = \max_{σ ∈ D} δ_r(u, σ) + γ_{rs} V(δ_u(u, σ)),\quad
       V(\text{terminal}) = 0,\qquad Φ(u) = \text{sign}·V(u)

    computed by ``rk.core.value_iteration`` on :func:`machine_as_tabular_model`.
    The reference code (RMcode ``add_reward_shaping``) uses ``sign = −1``: it pays
    ``(1 − γ)V(u)`` per lingering step and V(u) on entering a terminal state;
    ``+1`` charges both instead. Both keep optimal policies (Φ = 0 when absorbed).
    With several tasks, each task's states get their own values.

    Args:
      machines: a :class:`TaskMachines` or a product env holding one.
      gamma_rs: the value iteration's discount in [0, 1) (RMcode ``--rs_gamma``).
      sign: the sign of Φ (−1 as in the reference code, or +1).
      tol: the value iteration's stopping threshold.

    Returns:
      A :class:`MachinePotential`.

    Example:
      >>> from rewardkit.envs import OfficeWorld
      >>> from rewardkit.machines import compile_tasks
      >>> from rewardkit.machines.tasks import office_tasks
      >>> tm = compile_tasks(office_tasks()[:1], OfficeWorld().propositions)
      >>> [round(float(v), 4) for v in machine_potential(tm).values]
      [-0.9, -1.0, 0.0, 0.0]

    References:
      Camacho, Toro Icarte, Klassen, Valenzano and McIlraith (2019). LTL and
      beyond: formal languages for reward function specification in RL. IJCAI.
    """
    gamma_rs = check_gamma("gamma_rs", gamma_rs, allow_one=False)
    if sign not in (-1.0, 1.0, -1, 1):
        raise ConfigError(f"`sign` must be -1.0 or +1.0; got {sign!r}.")
    model = machine_as_tabular_model(machines)
    v = np.asarray(value_iteration(model, gamma_rs, tol=tol), np.float32)
    return MachinePotential(float(sign) * v + 0.0, float(sign), gamma_rs)  # no -0.0
