"""Integrations of intrinsic bonuses with third-party learners.

``sb3``: Stable-Baselines3 (``pip install "rewardkit[sb3]"``). Importing
``rewardkit.intrinsic`` never imports a learner library; the integration's classes
raise an ``ImportError`` naming the extra when used without it.
"""

from rewardkit.intrinsic.integrations import sb3

__all__ = ["sb3"]
