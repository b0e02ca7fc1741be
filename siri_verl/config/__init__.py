"""Hydra configs of siri_verl (a package so that ``pkg://siri_verl.config`` resolves when installed)."""
