"""Answer extraction from a (possibly length-capped) R1-style response.

The SIRI / DeepScaleR length-capping reward grades the response *as it stands*: the final answer is the
content of the last ``\\boxed{...}`` (or ``\\fbox{...}``) in the text after the model's ``</think>`` tag.
A response cut at the cap before ``</think>`` or before its box is closed has no answer.

The box parser itself (``last_boxed_content``) lives in ``siri_verl.answers``, shared with data prep.
Everything here is a single linear scan: microseconds for a normal 16K-token response, milliseconds for
degenerate ones (tens of thousands of unclosed boxes).
"""

from __future__ import annotations

from dataclasses import dataclass

from siri_verl.answers import last_boxed_content

THINK_END = "</think>"

# How the ``</think>`` tag is treated (reward kwarg ``think_mode``):
THINK_MODES = {
    "require": "the answer must come after `</think>`; no `</think>` -> no answer (DeepScaleR / SIRI rule)",
    "optional": "use the text after the last `</think>` when present, else the whole response",
    "ignore": "search the whole response (models without think tags)",
}


@dataclass(frozen=True)
class Extraction:
    """What was found in one response.

    answer: content of the last box, stripped ("" when none was found).
    reason: "" when an answer was found, else why not: "no_think_end", "no_boxed_answer", "empty_answer".
    """

    answer: str
    reason: str

    @property
    def has_answer(self) -> bool:
        return not self.reason


def extract_answer(response: str, think_mode: str = "require") -> Extraction:
    """Extract the final answer of ``response`` under ``think_mode`` (see ``THINK_MODES``)."""
    if think_mode not in THINK_MODES:
        raise ValueError(f"think_mode={think_mode!r} is not one of {sorted(THINK_MODES)}")
    region = response
    if think_mode != "ignore":
        think_end = response.rfind(THINK_END)
        if think_end >= 0:
            region = response[think_end + len(THINK_END) :]
        elif think_mode == "require":
            return Extraction("", "no_think_end")
    content = last_boxed_content(region)
    if content is None:
        return Extraction("", "no_boxed_answer")
    content = content.strip()
    if not content:
        return Extraction("", "empty_answer")
    return Extraction(content, "")
