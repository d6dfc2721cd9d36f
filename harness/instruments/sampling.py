"""The photodiode's sample interval, drawn off the station's round one for each run.

photodiode-scpi.md times reading k at trigger + k × SAMP:TIM and states no aperture, so a
reading is the light at an instant. A PWM-driven LED whose period is a whole number of
sample intervals is then seen at the same few phases for as long as a window lasts: a
battery saver's 6 % duty at 1 kHz, sampled every 200 µs, reads either dark or lit one
reading in five (a sliding mean of 20 % of full brightness, over `visible_v`), by the
phase alone, in about a third of windows. A dim indicator would pass for lit, and a
device that knows a lab's interval could pick its PWM to make it so.

So the interval is made 2-6 % longer than the station's, by a draw the device cannot know:
the phase then slides through every period over a window and the sliding mean is the
LED's own. Longer, never shorter: an instrument's minimum interval may be the station's.
The interval used is in every trace and in the run's summary.
"""

from __future__ import annotations

import random

DETUNE = (0.02, 0.06)  # the share the interval is lengthened by, drawn uniformly
_SYSTEM = random.SystemRandom()


def run_interval(station_interval_s: float, rng: random.Random = _SYSTEM) -> float:
    """The sample interval of one run: the station's, lengthened by a share in DETUNE."""
    low, high = DETUNE
    return station_interval_s * (1.0 + rng.uniform(low, high))
