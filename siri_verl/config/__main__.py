"""``python -m siri_verl.config``: print the reference table of every ``algorithm.siri`` key (docs/config.md)."""

from siri_verl.config import reference_markdown

print(reference_markdown(), end="")
