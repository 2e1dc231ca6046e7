"""The vector product env: batched product MDPs of a rewardkit JAX env, with CRM."""

from __future__ import annotations

from typing import Any

import numpy as np  # noqa: F401 - used by the doctest

from rewardkit.core import Environment, JaxToGymnasiumVector
from rewardkit.machines._product_functional import ProductEnv as FunctionalProductEnv

__all__ = ["ProductEnv"]


class ProductEnv(JaxToGymnasiumVector):
    """Batched product envs as a ``gymnasium.vector.VectorEnv`` (JAX under ``jit``).

    Runs ``jit(vmap(AutoReset(functional.ProductEnv(env, machine, ...))))``: the
    machine steps inside the JAX program, so an accepting or rejecting machine ends
    its sub-env's episode and the sub-env resets in either autoreset mode (a
    wrapper over an arbitrary Gymnasium vector env cannot reset a sub-env whose
    inner episode goes on; wrap each sub-env instead, ``gym.make_vec(id, n,
    wrappers=[lambda e: rk.machines.ProductEnv(e, machine, labeler)])``).

    Observations ``{"env": [N, ...], "machine": int64[N]}``; ``infos`` hold the
    reward-key contract (``extrinsic_reward``, ``f"{name}_reward"``), the
    diagnostics ``label``, ``machine_state``, ``accepted``, ``rejected`` and, with
    ``crm=True``, ``crm``: the counterfactual ``Transition`` with leading axes
    ``[N, U]`` (NumPy, unshaped), for batched off-policy learners.

    Args:
      env: a rewardkit functional env with propositions (no ``AutoReset``).
      machine: as for :class:`rewardkit.machines.functional.ProductEnv`.
      num_envs: the number of sub-envs.
      autoreset_mode: ``"SameStep"`` or ``"NextStep"`` (required).
      label_fn: the functional labeling function (default ``env.labels(s')``).
      reward_mode: ``"machine"`` or ``"sum"``.
      name: the reward term's name.
      label_filter: an optional ``LabelFilter``.
      label_domain: the labels the env emits.
      crm: put the counterfactual batch in ``infos["crm"]``.
      params: the functional product's params (default: its defaults).

    Example:
      >>> from rewardkit.envs import OfficeWorld
      >>> from rewardkit.machines.tasks import office_tasks
      >>> venv = ProductEnv(OfficeWorld(), office_tasks(), 3,
      ...                   autoreset_mode="NextStep", crm=True)
      >>> obs, _ = venv.reset(seed=0)
      >>> obs["machine"].shape
      (3,)
      >>> obs, r, term, trunc, infos = venv.step(np.zeros(3, np.int64))
      >>> infos["crm"].reward.shape
      (3, 20)
    """

    def __init__(
        self,
        env: Environment,
        machine: Any,
        num_envs: int,
        *,
        autoreset_mode: Any,
        label_fn: Any = None,
        reward_mode: str = "machine",
        name: str = "machine",
        label_filter: Any = None,
        label_domain: Any = None,
        crm: bool = False,
        params: Any = None,
    ):
        product = FunctionalProductEnv(
            env,
            machine,
            label_fn,
            reward_mode=reward_mode,
            name=name,
            label_filter=label_filter,
            label_domain=label_domain,
            crm=crm,
        )
        super().__init__(product, params, num_envs, autoreset_mode=autoreset_mode)
        self.product = product
        self.machines = product.machines
        self.reward_name = product.reward_name
        self.keeps_base = product.keeps_base
        self.crm = bool(crm)
