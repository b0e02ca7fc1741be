"""Answer extraction from a (possibly length-capped) R1-style response.

The SIRI / DeepScaleR length-capping reward grades the response *as it stands*: the final answer is the
content of the last ``\\boxed{...}`` (or ``\\fbox{...}``) in the text after the model's ``</think>`` tag.
A response cut at the cap before ``</think>`` or before its box is closed has no answer.

Everything here is a single linear scan: microseconds for a normal 16K-token response, milliseconds for
degenerate ones (tens of thousands of unclosed boxes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

THINK_END = "</think>"

# How the ``</think>`` tag is treated (reward kwarg ``think_mode``):
THINK_MODES = {
    "require": "the answer must come after `</think>`; no `</think>` -> no answer (DeepScaleR / SIRI rule)",
    "optional": "use the text after the last `</think>` when present, else the whole response",
    "ignore": "search the whole response (models without think tags)",
}

_BOX_COMMANDS = ("\\boxed", "\\fbox")


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


# A box command with its opening brace, or a lone brace.
_BRACE_TOKENS = re.compile(r"\\(?:boxed|fbox)\{|[{}]")


def _braceless_box(text: str) -> tuple[int, str | None]:
    """Start and content of the last ``\\boxed 5`` (brace-less) box: the argument runs to the next
    whitespace or ``$``, a trailing period dropped."""
    start = max(text.rfind(command + " ") for command in _BOX_COMMANDS)
    if start < 0:
        return -1, None
    begin = text.index(" ", start) + 1
    end = begin
    while end < len(text) and not text[end].isspace() and text[end] != "$":
        end += 1
    return start, text[begin:end].rstrip(".") or None


def last_boxed_content(text: str) -> str | None:
    """Content of the last closed ``\\boxed{}``/``\\fbox{}`` in ``text`` (None when there is none).

    "Last" is the box that starts last among the closed ones (nested braces handled; for nested boxes
    the inner one). An unclosed trailing box (a response cut inside it) is skipped in favour of an
    earlier closed one. One pass over the braces, so degenerate output such as thousands of unclosed
    ``\\boxed{`` costs linear time.
    """
    best_start, best = -1, None
    open_braces: list[tuple[int, int] | None] = []  # (command start, content start) for boxes
    for match in _BRACE_TOKENS.finditer(text):
        token = match.group()
        if token == "}":
            if open_braces:
                opened = open_braces.pop()
                if opened is not None and opened[0] > best_start:
                    best_start, best = opened[0], text[opened[1] : match.start()]
        else:
            open_braces.append(None if token == "{" else (match.start(), match.end()))
    braceless_start, braceless = _braceless_box(text)
    if braceless is not None and braceless_start > best_start:
        return braceless
    return best


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
