"""SIRI's binary length-capping math reward (verl custom reward function) and batch scoring.

Use it in verl with::

    reward.custom_reward_function.path=pkg://siri_verl.reward
    reward.custom_reward_function.name=compute_score
    +reward.custom_reward_function.reward_kwargs.truncated_score=as_is   # or zero

See docs/reward.md for the rule, the options and the result keys.
"""

from siri_verl.reward.extraction import THINK_MODES, Extraction, extract_answer, last_boxed_content
from siri_verl.reward.math_reward import (
    GOLD_STATUSES,
    RESULT_KEYS,
    TRUNCATED_SCORE_POLICIES,
    RewardOptions,
    check_ground_truths,
    compute_score,
    register_truncated_score_policy,
    score_batch,
)

__all__ = [
    "GOLD_STATUSES",
    "RESULT_KEYS",
    "THINK_MODES",
    "TRUNCATED_SCORE_POLICIES",
    "Extraction",
    "RewardOptions",
    "check_ground_truths",
    "compute_score",
    "extract_answer",
    "last_boxed_content",
    "register_truncated_score_policy",
    "score_batch",
]
