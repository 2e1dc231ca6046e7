import pytest

from rewardkit.core import (
    ConfigError,
    EnvWrapper,
    check_callable,
    check_choice,
    check_gamma,
    check_positive_int,
    check_term_name,
    find_state,
    reward_terms,
)
from rewardkit.envs import GridWorld


class Named(EnvWrapper):
    def __init__(self, env, name, keeps_base=True):
        super().__init__(env)
        self.reward_name = name
        self.keeps_base = keeps_base


def test_duplicate_term_names_are_refused_when_building():
    stack = Named(Named(GridWorld("S.G"), "shaping"), "machine", keeps_base=False)
    assert [t.key for t in reward_terms(stack)] == ["machine_reward", "shaping_reward"]
    assert reward_terms(stack)[0].keeps_base is False
    assert check_term_name(stack, "intrinsic") == "intrinsic"
    with pytest.raises(ConfigError, match="'shaping' is already used"):
        check_term_name(stack, "shaping")
    for bad in ["", "two words", 3, "extrinsic"]:
        with pytest.raises(ConfigError, match="name"):
            check_term_name(stack, bad)


def test_wrapper_forwards_public_helpers_only():
    w = Named(GridWorld("S.G"), "x")
    assert w.bfs_distances().tolist() == [2, 1, 0]
    assert w.unwrapped is w.env
    with pytest.raises(AttributeError):
        _ = w._private
    with pytest.raises(TypeError, match="Environment"):
        Named(object(), "x")


def test_find_state_names_what_it_searched():
    from rewardkit.core import AutoResetState
    from rewardkit.envs import GridState

    s = AutoResetState(GridState(1, 0), False)
    assert find_state(s, GridState).pos == 1
    with pytest.raises(LookupError, match="AutoResetState -> GridState"):
        find_state(s, int)


def test_checks_name_argument_expectation_and_value():
    with pytest.raises(
        ConfigError, match=r"`gamma` must be a number in \[0.0, 1.0\); got 1.0"
    ):
        check_gamma("gamma", 1.0, allow_one=False)
    with pytest.raises(ConfigError, match="`n` must be an integer >= 1; got True"):
        check_positive_int("n", True)
    with pytest.raises(ConfigError, match="`mode` must be one of 'a', 'b'; got 'c'"):
        check_choice("mode", "c", ("a", "b"))
    with pytest.raises(TypeError, match="`potential` must be callable; got int 3"):
        check_callable("potential", 3)
    assert issubclass(ConfigError, ValueError)
