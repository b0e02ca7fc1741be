"""Imported in every verl process via ``siri_verl.plugin``: the CPU platform (inert unless ``VERL_PLATFORM=cpu``)
and the ``hf`` rollout backend registration (adds a name to verl's rollout registries, nothing else)."""

from siri_verl.cpu import platform as cpu_platform  # noqa: F401
from siri_verl.cpu import rollout as hf_rollout  # noqa: F401
