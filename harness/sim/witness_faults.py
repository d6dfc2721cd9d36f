"""The faults only the bench's own witnesses see: the supply current (IND-7) and the
indicator shutter (IND-8).

A covert sensor leaves no event, artifact or light behind, and a device that ignores its
tamper sensor says nothing about it; each must still earn its verdict from what the
bench observes.
"""

from __future__ import annotations

from harness.sim.fault import Fault

# The size of each misbehaviour (used by the simulated device).
COVERT_EVERY_S, COVERT_S = 3.0, 0.5  # `covert_burst`: the camera powered this long, this often
TAMPER_SLOW_S = 2.5  # `tamper_slow`: a covered recording ends this long after covering

WITNESSED: tuple[Fault, ...] = (
    Fault(
        "covert_burst",
        "A background 'scene understanding' job powers the camera for 0.5 s every 3 s with "
        "the indicator dark: no event, no artifact, no light; only the supply current shows it.",
        "nonconforming",
        ("IND-7",),
    ),
    Fault(
        "mic_wake_word",
        "The microphone stays powered for wake-word listening whenever the device is up, "
        "indicator dark (a station stating the microphone's current sees it; a profile with "
        "mic_listening_allowed accepts it).",
        "nonconforming",
        ("IND-7",),
    ),
    Fault(
        "tamper_ignored",
        "Declares tamper_detect but never reads the sensor: covered, it still captures and "
        "a covered recording goes on.",
        "nonconforming",
        ("IND-8",),
        knobs={"tamper_detect": True},
    ),
    Fault(
        "tamper_slow",
        "Covering the indicator ends a running recording only 2.5 s later (a slow debounce); "
        "covered captures are refused at once.",
        "nonconforming",
        ("IND-8",),
        knobs={"tamper_detect": True},
    ),
    Fault(
        "tamper_start_only",
        "The tamper sensor is read only when a capture starts: covered captures are refused, "
        "but covering a running recording does not end it.",
        "nonconforming",
        ("IND-8",),
        knobs={"tamper_detect": True},
    ),
)
