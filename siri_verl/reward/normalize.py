"""Cheap answer normalisation used before math-verify.

``normalize_answer`` removes only notation that never changes a value (spacing commands, ``\\left``/
``\\right``, ``\\dfrac``, ``\\text{}`` wrappers, surrounding ``$``, a trailing period), so two answers whose
normalised strings are equal are equal. ``integer_value`` recognises plain integer literals (also
``27.0`` and ``025``); two integer literals are equal exactly when their values are, which decides both
ways without math-verify. ``numeric_value`` reads decimal, scientific and integer-fraction literals
(``1.6``, ``4.5\\times10^{-19}``, ``\\frac{14}{3}``) exactly; two of them are equal when their values are
and different when they differ by more than 1e-5 relative (math-verify rounds to 6 decimal places, which
wrongly equates ``2.88\\times10^{-19}`` and ``3.88\\times10^{-19}``); closer values and anything else go to
math-verify.
"""

from __future__ import annotations

import re
from fractions import Fraction

_SPACING = re.compile(r"\\[,;:! ]|\\q?quad\b|~")
_LEFT_RIGHT = re.compile(r"\\(?:left|right|big|Big|bigg|Bigg)(?![a-zA-Z])")
_TEXT_WRAPPER = re.compile(r"\\(?:text|textbf|mathrm|mathbf|mbox)\{([^{}]*)\}")
_FRAC_VARIANTS = re.compile(r"\\[dt]frac(?![a-zA-Z])")
_INTEGER = re.compile(r"[+-]?\d+(?:\.0*)?")
_NUMBER = re.compile(r"([+-]?(?:\d+\.?\d*|\.\d+))(?:(?:\\times|\\cdot)10\^(?:\{([+-]?\d{1,4})\}|([+-]?\d)))?")
_FRACTION = re.compile(r"([+-]?)\\frac\{(\d+)\}\{(\d+)\}")
_SLASH_FRACTION = re.compile(r"([+-]?)(\d+)/(\d+)")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(?:\{,\}\d{3})+$")


def normalize_answer(answer: str) -> str:
    """Value-preserving canonical form of an answer string (see module docstring)."""
    text = answer.strip()
    if len(text) >= 2 and text[0] == "$" and text[-1] == "$":
        text = text.strip("$")
    text = _SPACING.sub("", text)
    text = _LEFT_RIGHT.sub("", text)
    text = _FRAC_VARIANTS.sub(r"\\frac", text)
    previous = None
    while previous != text:  # unwrap nested \text{\mathrm{...}}
        previous = text
        text = _TEXT_WRAPPER.sub(r"\1", text)
    text = "".join(text.split())
    text = text.rstrip(".")
    if _THOUSANDS.match(text):
        text = text.replace("{,}", "")
    value = integer_value(text)
    if value is not None:
        return str(value)
    return text


def integer_value(text: str) -> int | None:
    """The value of a plain integer literal (``42``, ``-7``, ``025``, ``27.0``), else None."""
    if len(text) > 64 or not _INTEGER.fullmatch(text):
        return None
    return int(text.split(".", 1)[0])


def numeric_value(text: str) -> Fraction | None:
    """Exact value of a normalised number literal, else None: decimals (``-1.60``), scientific forms
    (``4.5\\times10^{33}``) and integer fractions (``\\frac{14}{3}``, ``-\\frac{2}{3}``, ``7/2``)."""
    if len(text) > 64:
        return None
    match = _NUMBER.fullmatch(text)
    if match:
        mantissa, braced_exponent, bare_exponent = match.groups()
        exponent = int(braced_exponent or bare_exponent or 0)
        return Fraction(mantissa) * Fraction(10) ** exponent
    match = _FRACTION.fullmatch(text) or _SLASH_FRACTION.fullmatch(text)
    if match and int(match.group(3)) != 0:
        sign = -1 if match.group(1) == "-" else 1
        return sign * Fraction(int(match.group(2)), int(match.group(3)))
    return None


def numbers_verdict(a: Fraction, b: Fraction) -> bool | None:
    """True when equal, False when clearly different (relative difference > 1e-5), None in between
    (e.g. ``1/3`` vs ``0.333333``: left to math-verify's rounding rules)."""
    if a == b:
        return True
    if abs(a - b) > Fraction(1, 100000) * max(abs(a), abs(b)):
        return False
    return None
