"""The one error type for a bad setting: it carries the config key, so callers never parse messages."""

from __future__ import annotations

from typing import Any

_NO_VALUE = object()


class ConfigKeyError(ValueError):
    """A setting is invalid. ``key`` is its full dotted config key (``algorithm.siri.schedule.period``,
    ``reward.custom_reward_function.reward_kwargs.think_mode``); the message reads
    ``<key>=<value>: <problem and fix>`` (or ``<key>: ...`` when there is no single value to show); ``detail`` is
    the same without the key, for reports that print the key in a column of its own."""

    def __init__(self, key: str, problem: str, value: Any = _NO_VALUE):
        self.key = key
        self.detail = problem if value is _NO_VALUE else f"={value!r}: {problem}"
        super().__init__(f"{key}: {problem}" if value is _NO_VALUE else f"{key}{self.detail}")


def unknown_key_problem(key: str, known: list[str], prefix: str) -> str:
    """The message for a key that is not a setting: the closest known key, and all of them."""
    import difflib

    close = difflib.get_close_matches(str(key), list(known), n=1)
    hint = f"did you mean {prefix}.{close[0]}? " if close else ""
    return f"unknown key; {hint}known keys: {', '.join(known)} (docs/config.md)"
