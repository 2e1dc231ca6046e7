"""rewardkit.envs."""

__all__: list[str] = []
