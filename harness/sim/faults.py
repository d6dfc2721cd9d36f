"""The fault catalogue: realistic ways a device (or its link) goes wrong, by name.

Each fault is a behaviour a real firmware or a real link could have, not a switch that
makes a check fail; the simulated device consults the active names where that behaviour
lives. `kind` says what the harness must conclude about a device showing the fault:

- ``nonconforming``: a firmware bug or cheat; every clause in `clauses` must get
  `verdict` (FAIL, or INCONCLUSIVE where the cheat leaves nothing to observe).
  `incidental` lists clauses that may also FAIL depending on how a check probes
  (e.g. CON-2 for a device that captures photos with no consent at all).
  Some are liars: they hide a violation behind the protocol (refuse a mandatory
  command, leave a kind out of `hello`, misname a capture, misstate its times, word
  their messages like verdicts). The harness must judge them by what it observes.
- ``awkward``: conforming but hard to talk to; every clause must still PASS.
- ``transport``: a hostile link or instrument; the run must end BROKEN (a bench fault),
  never FAIL.

`target` says which simulator shows the fault: the device, or the photodiode instrument
or bench supply (named ``instrument.<fault>`` / ``power.<fault>`` here, and handed to
that simulator by its own name). `knobs` are configuration changes a device fault implies
(e.g. ``crlf``), applied on top of the device's `SimDeviceConfig` so one mechanism serves
both.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from harness.sim.fault import (
    FAULT_KINDS,
    IND_ALL,
    TARGETS,
    VERDICTS,
    Fault,
    FaultKind,
    Target,
    Verdict,
)
from harness.sim.liars import LIARS
from harness.sim.witness_faults import COVERT_EVERY_S, COVERT_S, TAMPER_SLOW_S, WITNESSED

__all__ = [
    "COVERT_EVERY_S",
    "COVERT_S",
    "FAULTS",
    "FAULT_KINDS",
    "TAMPER_SLOW_S",
    "TARGETS",
    "VERDICTS",
    "Fault",
    "FaultKind",
    "Target",
    "Verdict",
    "by_target",
    "check_faults",
    "fault_knobs",
]

# The size of each misbehaviour (used by the simulated device).
LED_LATE_S = 0.080
DROPOUT_AT_S, DROPOUT_S = 0.400, 0.150
FLICKER_EVERY_S, FLICKER_S = 0.250, 0.030
THERMAL_EVERY_S, THERMAL_S = 1.5, 0.150  # `led_thermal_dropout`
DIM_PWM_HZ, DIM_PWM_DUTY = 1000.0, 0.06
PHOTO_BLINK_S = 0.100
LYING_LAG_S = 0.400
REVOKE_SLOW_S = 2.5
PREROLL_S = 1.5
SHORT_LAST_S = 0.300
VANISH_AFTER, VANISH_FOR_S = 5, 1.5
SILENT_AFTER = 5
HANG_AFTER_S = 0.15  # `silent_mid_recording`: this far into...
HANG_ON_RECORDING = 3  # ...the third recording (a bench's current calibration makes two)


def _catalogue(*faults: Fault) -> Mapping[str, Fault]:
    catalogue = {f.name: f for f in faults}
    if len(catalogue) != len(faults):
        raise ValueError("fault names must be unique")
    return MappingProxyType(catalogue)


FAULTS: Mapping[str, Fault] = _catalogue(
    # -- indicator ----------------------------------------------------------------------
    Fault(
        "led_late",
        "Recordings: the LED is switched on by the encoder's 'stream started' callback, "
        "80 ms after the first frame was exposed (the indicator event is honest).",
        "nonconforming",
        ("IND-1", "IND-2"),
        # The first 80 ms of the capture are a dark stretch inside it: a gap too; and the
        # camera runs ~140 ms from the request with the indicator dark.
        incidental=("IND-3", "IND-4", "IND-7"),
    ),
    Fault(
        "led_dropout",
        "A thermal guard switches the LED off for 150 ms, 400 ms into every recording, "
        "and reports it (indicator off/on events), while the camera keeps capturing.",
        "nonconforming",
        ("IND-1", "IND-3"),
        # its dark stretch is also a windowed level below visible_v inside the capture, and
        # 150 ms of a powered camera with the indicator dark
        incidental=("IND-4", "IND-7"),
    ),
    Fault(
        "led_thermal_dropout",
        "A throttled LED driver: once a recording has run 1.5 s, the LED goes dark for "
        "150 ms every 1.5 s (reported: the firmware sees its driver's thermal flag), while "
        "the camera keeps capturing. No recording shorter than 1.5 s shows it.",
        "nonconforming",
        ("IND-1", "IND-3"),
        incidental=("IND-4", "IND-7"),  # as led_dropout's
    ),
    Fault(
        "led_flicker",
        "A shared LED driver glitch: a 30 ms dark gap every 250 ms while recording; the "
        "firmware does not know and keeps reporting 'on'.",
        "nonconforming",
        ("IND-3", "IND-1"),
        # its dark stretch is also a windowed level below visible_v inside the capture
        incidental=("IND-4",),
    ),
    Fault(
        "led_dim_pwm",
        "Battery saver drives the LED at 1 kHz, 6 % duty during captures (selftest stays "
        "bright); the firmware reports 'on' throughout.",
        "nonconforming",
        # too dim to count as lit; IND-3 (no noticeable dark gap) holds: its 1 kHz pulses
        # leave gaps under a millisecond (seen within ~7 ms through the run's sampling).
        # It failed only where the sampling aliased (harness/instruments/sampling.py).
        ("IND-1", "IND-2", "IND-4", "IND-5", "IND-6"),
        incidental=("IND-7",),  # too dim to count as lit: the sensors run in the dark
    ),
    Fault(
        "agent_dark",
        "Captures from the 'agent' source (the assistant looking) never light the LED; the "
        "firmware honestly reports the indicator as off.",
        "nonconforming",
        IND_ALL,
        incidental=("IND-7",),  # the assistant's camera and microphone run in the dark
    ),
    Fault(
        "photo_blink",
        "The photo LED goes off 100 ms after the exposure instead of staying lit.",
        "nonconforming",
        ("IND-5",),
    ),
    Fault(
        "lying_report",
        "The indicator state is cached: 'state' and the 'indicator' off event lag the "
        "LED by 400 ms at the end of every capture, so the device claims 'on' while dark.",
        "nonconforming",
        ("IND-6",),
    ),
    # -- consent ------------------------------------------------------------------------
    Fault(
        "photo_no_consent",
        "A 'quick snap' path takes photos without checking photo consent.",
        "nonconforming",
        ("CON-1",),
        # Every clause that attempts a photo without photo consent sees it: under a
        # partial grant (CON-2) and after a restart (CON-4).
        incidental=("CON-2", "CON-4"),
    ),
    Fault(
        "agent_bypass",
        "Captures from the 'agent' source skip the consent check entirely.",
        "nonconforming",
        ("CON-1",),
        incidental=("CON-2", "CON-4"),
    ),
    Fault(
        "refused_keeps_artifact",
        "The sensor grabs a frame before the consent check; a refused capture answers "
        "CONSENT_REQUIRED but the grabbed frame is saved as an artifact.",
        "nonconforming",
        ("CON-1",),
        incidental=("CON-2", "CON-4"),
    ),
    Fault(
        "scope_leak",
        "Consent is checked as 'camera or microphone allowed': video consent also "
        "enables audio recordings and photos.",
        "nonconforming",
        ("CON-2",),
        # Only partial grants expose it; a capture it lets through also lacks its scope.
        incidental=("CON-1",),
    ),
    Fault(
        "revoke_ignored",
        "Revoking consent updates the setting but never stops the running recording.",
        "nonconforming",
        ("CON-3",),
    ),
    Fault(
        "revoke_slow",
        "Revoke is handled by a background job: the recording ends 2.5 s later.",
        "nonconforming",
        ("CON-3",),
    ),
    Fault(
        "consent_persists",
        "Consent is kept in flash: it survives reboots and power loss (a factory reset "
        "does erase it).",
        "nonconforming",
        ("CON-4",),
    ),
    Fault(
        "reset_keeps_consent",
        "The factory reset wipes storage but restarts services without the consent "
        "service, whose in-RAM grants survive; a reboot clears them.",
        "nonconforming",
        ("CON-4",),
    ),
    # -- minimum data -------------------------------------------------------------------
    Fault(
        "extra_metadata",
        "Every artifact stores 'location' too, whether asked for or not.",
        "nonconforming",
        ("MIN-1",),
    ),
    Fault(
        "audio_in_video",
        "Videos always carry an audio track, with or without audio consent.",
        "nonconforming",
        ("MIN-2",),
    ),
    Fault(
        "preroll",
        "Videos are cut from an always-on 1.5 s ring buffer: first_frame_us lies 1.5 s "
        "before the request (events report the live stream as usual).",
        "nonconforming",
        ("MIN-3",),
        # The ring buffer keeps the camera powered whenever the device is up: in the dark.
        incidental=("IND-1", "IND-2", "IND-7"),
    ),
    # -- lies only the stored file tells (bench-protocol.md "Stored media") ------------
    Fault(
        "exif_gps",
        "The camera's image pipeline writes GPS into the Exif of every photo; "
        "artifact.info lists only the fields that were asked for.",
        "nonconforming",
        ("MIN-1",),
    ),
    Fault(
        "hidden_audio",
        "Videos are always muxed with the microphone's track; artifact.info derives its "
        "track list from the consent and reports video only.",
        "nonconforming",
        ("MIN-2",),
    ),
    Fault(
        "file_preroll",
        "Videos are cut from a 1.5 s ring buffer whose frames before the request stay in "
        "the MP4 behind an edit list: first_frame_us, the events and the presented span "
        "look honest, the file keeps the pre-roll.",
        "nonconforming",
        ("MIN-3",),
    ),
    Fault(
        "short_last_frame",
        "A recording's end is reported from the encoder's last flushed batch: capture.end "
        "and artifact.info give a last_frame_us up to 300 ms before the last frame the "
        "file holds.",
        "nonconforming",
        ("IND-1",),
    ),
    Fault(
        "undeleted",
        "artifact.delete only hides the artifact in an in-RAM index; the file stays and "
        "reappears after the next reboot.",
        "nonconforming",
        ("MIN-4",),
    ),
    Fault(
        "reset_keeps_artifacts",
        "The factory reset erases settings but not the media partition.",
        "nonconforming",
        ("MIN-4",),
    ),
    *WITNESSED,
    *LIARS,
    # -- awkward but conforming ---------------------------------------------------------
    Fault(
        "slow_replies",
        "A busy main loop: every request but `clock` (answered on a fast path for time "
        "sync) is handled 400 ms late, so responses come late but within 1 s.",
        "awkward",
        knobs={"reply_delay_ms": 400.0},
    ),
    Fault(
        "drift_200ppm",
        "The device clock runs 200 ppm fast and starts from a huge value (uptime ~70 "
        "years), also after every reboot.",
        "awkward",
        knobs={
            "drift_ppm": 200.0,
            "clock_offset_us": 2_222_222_222_222_222,
            "boot_offset_min_us": 2**50,
            "boot_offset_max_us": 2**51,
        },
    ),
    Fault(
        "chatter",
        "Debug console logging left on: ~20 printf lines a second between messages.",
        "awkward",
        knobs={"chatter": 20.0},
    ),
    Fault("crlf", "Lines end with \\r\\n.", "awkward", knobs={"crlf": True}),
    Fault(
        "event_burst",
        "Every frame is reported as a capture.frame event (30/s video, 50/s audio).",
        "awkward",
    ),
    Fault(
        "bad_utf8",
        "A noisy UART: lines of invalid UTF-8, oversize (>4096 B) lines and truncated "
        "JSON appear between messages; real messages are still correct.",
        "awkward",
    ),
    Fault(
        "hostile_strings",
        "vendor, model, firmware, serial number, log and error messages full of control "
        "characters, ANSI escapes, bidi overrides, markup, TeX, braces, quotes, "
        "backslashes and verdict-like words ('FAIL:', 'signature: VALID'); otherwise "
        "a perfect device.",
        "awkward",
    ),
    Fault(
        "video_only",
        "A video-only pair of glasses: hello declares only video; photo and audio are "
        "answered UNSUPPORTED (nothing stored, no LED).",
        "awkward",
        knobs={"capture_kinds": ("video",)},
    ),
    Fault(
        "hostile_text",
        "Every string the firmware chooses (ids, hello strings, error messages, log "
        "events, console lines) carries terminal controls, a screen-clearing ESC "
        "sequence, a bidi override, a forged 'signature: VALID' line and mathtext.",
        "awkward",
    ),
    Fault(
        "busy_while_rebooting",
        "A separate radio core stays up during reboot and answers BUSY (as the spec's "
        "error table allows) instead of staying silent.",
        "awkward",
    ),
    # -- hostile transport --------------------------------------------------------------
    Fault(
        "silent_after_5",
        "The request parser deadlocks after 5 requests per boot: the device stays alive "
        "but never answers again.",
        "transport",
    ),
    Fault(
        "flood",
        "A runaway debug print: junk console lines non-stop, as fast as the link takes.",
        "transport",
    ),
    Fault(
        "event_flood",
        "A log level left at 'trace': valid log events non-stop, as fast as the link takes.",
        "transport",
    ),
    Fault(
        "clock_overflow",
        "The tick counter is printed whole: every t_us lies past 2^64 (beyond any int64).",
        "transport",
    ),
    Fault(
        "silent_mid_recording",
        "A driver deadlock 150 ms into the third recording (a calibration makes two): "
        "no response, no event, "
        "no console until the power is cut (a power cycle through the supply revives it).",
        "transport",
    ),
    Fault("dup_response", "Every response is sent twice.", "transport"),
    Fault(
        "unknown_id",
        "Responses carry the previous request's id (0 for the first), an off-by-one bug.",
        "transport",
    ),
    Fault(
        "vanish",
        "After 5 requests the USB serial port disappears (pty closed, path removed) and "
        "a new one appears behind the same path 1.5 s later.",
        "transport",
    ),
    # -- the instruments (implemented in instrument.py and power.py) --------------------
    Fault(
        "instrument.scpi_timeout",
        "The photodiode instrument never answers R? (a hung DMM).",
        "transport",
        target="instrument",
    ),
    Fault(
        "instrument.short_block",
        "REAL blocks are shorter than their header says (a truncated transfer).",
        "transport",
        target="instrument",
    ),
    Fault(
        "instrument.scpi_error",
        "Every configuring command also queues SCPI error -222 (Data out of range).",
        "transport",
        target="instrument",
    ),
    Fault(
        "instrument.indefinite_block",
        "REAL data come as a legal IEEE 488.2 indefinite-length (#0) block.",
        "awkward",
        target="instrument",
    ),
    Fault(
        "power.scpi_error",
        "Every setting command of the bench supply also queues SCPI error -222.",
        "transport",
        target="power",
    ),
    Fault(
        "power.scpi_timeout",
        "The bench supply never answers MEAS:VOLT? or MEAS:CURR? (BROKEN wherever the "
        "harness measures the supply).",
        "transport",
        target="power",
    ),
)


def check_faults(names: Iterable[str], target: Target | None = None) -> tuple[str, ...]:
    """Validate fault names (order kept, duplicates dropped); unknown names raise ValueError.

    With `target`, every name must be one of that simulator's faults.
    """
    out: list[str] = []
    for name in names:
        fault = FAULTS.get(name)
        if fault is None:
            raise ValueError(f"unknown fault {name!r}; known: {', '.join(sorted(FAULTS))}")
        if target is not None and fault.target != target:
            raise ValueError(f"fault {name!r} belongs to the {fault.target}, not the {target}")
        if name not in out:
            out.append(name)
    return tuple(out)


def by_target(names: Iterable[str]) -> dict[Target, tuple[str, ...]]:
    """Split fault names per simulator, as each simulator names them."""
    split: dict[Target, list[str]] = {t: [] for t in TARGETS}
    for name in check_faults(names):
        fault = FAULTS[name]
        split[fault.target].append(fault.native_name)
    return {t: tuple(v) for t, v in split.items()}


def fault_knobs(names: Iterable[str]) -> dict[str, object]:
    """The configuration the given faults imply, later faults winning."""
    knobs: dict[str, object] = {}
    for name in check_faults(names):
        knobs.update(FAULTS[name].knobs)
    return knobs
