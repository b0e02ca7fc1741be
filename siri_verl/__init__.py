"""siri_verl: SIRI (Scaling Iterative RL with Interleaved Compression, arXiv 2509.25176) on verl 0.9.1.

Pure SIRI logic (length schedules, reward, metrics) lives in modules that import neither Ray nor verl;
the verl integration only calls into them.
"""

__version__ = "0.1.0"
