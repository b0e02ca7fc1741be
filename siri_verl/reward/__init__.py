"""SIRI's binary length-capping math reward (verl custom reward function) and batch scoring.

Use it in verl with::

    reward.custom_reward_function.path=pkg://siri_verl.reward
    reward.custom_reward_function.name=compute_score
    +reward.custom_reward_function.reward_kwargs.think_mode=require   # optional, see RewardOptions

The reward grades the response as it stands and reports whether it hit its cap (``truncated``, ``cap``);
what a truncated response is worth is ``algorithm.siri.truncation`` (docs/integration.md). See docs/reward.md
for the rule, the options and the result keys.
"""

from siri_verl.reward.extraction import THINK_MODES, Extraction, extract_answer, last_boxed_content
from siri_verl.reward.math_reward import (
    GOLD_STATUSES,
    RESULT_KEYS,
    RewardOptionError,
    RewardOptions,
    check_ground_truths,
    compute_score,
    score_batch,
)

__all__ = [
    "GOLD_STATUSES",
    "RESULT_KEYS",
    "THINK_MODES",
    "Extraction",
    "RewardOptionError",
    "RewardOptions",
    "check_ground_truths",
    "compute_score",
    "extract_answer",
    "last_boxed_content",
    "score_batch",
]
