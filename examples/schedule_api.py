"""The schedule API in a few lines: the caps, phases and phase checkpoints of a SIRI run.

    python examples/schedule_api.py
"""

from siri_verl.schedule import LengthSchedule, ScheduleConfig

# The paper's 1.5B run: cosine between 8192 and 16384 tokens, period 640, 3 cycles.
schedule = LengthSchedule(ScheduleConfig(kind="cosine", min_length=8192, max_length=16384, period=640, num_cycles=3))

for step in (1, 240, 320, 321, 640):  # verl's 1-based global_steps
    point = schedule.point(step)
    print(f"step {point.step:4d}: cap {point.cap:5d}, {point.phase}, iteration {point.iteration}")

for checkpoint in schedule.checkpoint_steps():
    print(f"{checkpoint.name:16s} at step {checkpoint.step} (cap {schedule.cap(checkpoint.step)})")

print(f"rollout-token budget vs a constant 16K cap: {schedule.budget()['budget_vs_constant_max']:.3f}")
