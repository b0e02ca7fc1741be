"""The ``siri-verl`` subcommands, one module each (``schedule``, ``check``, ``eval``, ``prepare_data``, ``report``).

Each module provides ``add_arguments(parser)`` and ``run(args) -> int`` and imports its heavy dependencies
(hydra, torch, Ray, verl, matplotlib) inside ``run``; ``siri_verl.cli`` imports only the module of the
subcommand that runs. The logic they drive lives in the library: ``siri_verl.schedule``,
``siri_verl.preflight``, ``siri_verl.recipe_config``, ``siri_verl.eval``, ``siri_verl.data``.
"""
