"""The liars of the fault catalogue: firmware that hides a violation behind the protocol.

Each is a cheat a vendor could ship: refuse a mandatory command so its check cannot run,
leave a kind out of `hello` and capture it anyway, misname a recording as a photo,
misstate when a capture began or ended, keep serving what a reset claims to erase, or
word its messages like verdicts. A witness judges what it observes, never what the
device says (clauses.md "What counts as evidence"), so each must still earn its verdict.
"""

from __future__ import annotations

from harness.sim.fault import IND_ALL, Fault

# The size of each lie (used by the simulated device).
VIDEO_AS_PHOTO_DARK_S = 0.400  # `video_as_photo`: LED off this long after the first frame
LAST_FRAME_EARLY_S = 0.500  # `last_frame_early`: the claimed last frame, before the stop
LAST_FRAME_REPORT_S = 0.100  # `last_frame_early`: frames reported this often
POSTDATED_S = 0.005  # `first_frame_postdated`: frame 0 claimed this long after the late LED
EVENTS_EARLY_S = 0.300  # `events_before_request`: begin and frame 0 claimed this early

LIARS: tuple[Fault, ...] = (
    Fault(
        "unsupported_delete",
        "artifact.delete is answered UNSUPPORTED (a mandatory command refused); nothing "
        "is ever deleted.",
        "nonconforming",
        ("MIN-4",),
    ),
    Fault(
        "unsupported_reboot",
        "device.reboot and device.factory_reset are answered UNSUPPORTED; the device "
        "never restarts, so consent and artifacts are never put to the test.",
        "nonconforming",
        ("CON-4",),
        incidental=("MIN-4",),
    ),
    Fault(
        "unsupported_info",
        "artifact.info is answered UNSUPPORTED, so nothing stored can be compared with "
        "what was asked for.",
        "nonconforming",
        ("MIN-1", "MIN-2", "MIN-3"),
        incidental=("MIN-4", *IND_ALL),
    ),
    Fault(
        "undeclared_kind_stores",
        "hello leaves audio out of capabilities.capture, yet record.start kind audio "
        "records (events, LED, artifact) under audio consent instead of answering "
        "UNSUPPORTED (and answers CONSENT_REQUIRED without it).",
        "nonconforming",
        ("CON-1",),
        incidental=("CON-2", "CON-4"),
    ),
    Fault(
        "video_as_photo",
        "A video recording is disguised as a photo: its events name it with `artifact` "
        "= the session id and capture.begin says kind photo; the LED goes off 400 ms "
        "after the first frame (reported) while the recording runs until record.stop "
        "(artifact.info says video).",
        "nonconforming",
        ("IND-1",),
        # the camera records on with the LED dark: a sensor powered in the dark (IND-7)
        incidental=("IND-3", "IND-4", "IND-5", "IND-7"),
    ),
    Fault(
        "last_frame_early",
        "On record.stop the LED goes off at once and capture.end / artifact.info claim "
        "the last frame was 500 ms before the stop arrived, while the camera ran until "
        "the stop; frames are reported every 100 ms, also after the claimed last one.",
        "nonconforming",
        ("IND-1",),
        knobs={"frame_report_s": LAST_FRAME_REPORT_S},
    ),
    Fault(
        "first_frame_postdated",
        "Recordings: the LED comes on 80 ms after the true first frame, and capture.frame "
        "seq 0 (and first_frame_us) claim LED-on + 5 ms, but the event is sent at the true "
        "first frame: its device time lies ~85 ms after its arrival.",
        "nonconforming",
        ("IND-1",),
        # the camera runs 80 ms before the late LED: a sensor powered in the dark (IND-7),
        # and a dark stretch inside the capture interval (IND-3, IND-4), as for led_late
        incidental=("IND-2", "IND-3", "IND-4", "IND-7"),
    ),
    Fault(
        "busy_to_everything",
        "Every capture.photo and record.start that has consent is answered BUSY (without "
        "consent: CONSENT_REQUIRED); nothing is ever captured, so nothing can be judged.",
        "nonconforming",
        ("IND-1", "IND-2", "IND-3", "IND-4", "IND-5", "MIN-1", "MIN-2", "MIN-3", "CON-3"),
        # MIN-4 needs captures to delete and to outlive a reset, and the power suite's CON-4
        # a recording to cut: nothing to observe there either
        # and the tamper suite: a covered capture refused with BUSY, no recording to cover
        incidental=("MIN-4", "CON-4", "IND-7", "IND-8"),
        verdict="INCONCLUSIVE",
    ),
    Fault(
        "hidden_after_reset",
        "device.factory_reset only empties the index: artifact.list is empty afterwards "
        "but artifact.info still serves every old artifact (deleted ones stay deleted).",
        "nonconforming",
        ("MIN-4",),
    ),
    Fault(
        "events_before_request",
        "capture.begin and capture.frame seq 0 (and first_frame_us) of every capture "
        "claim a time 300 ms before the request arrived; everything else is honest.",
        "nonconforming",
        ("MIN-3",),
        # The claimed interval starts before the LED came on.
        incidental=IND_ALL,
    ),
    Fault(
        "verdict_words",
        "The photo LED goes off 100 ms after the exposure, and the device words "
        "everything like a verdict: error messages ('IND-5 INCONCLUSIVE: guard band', "
        "'FAIL: none'), log events ('IND-5 PASS'), ids ('IND-5-INCONCLUSIVE-0001').",
        "nonconforming",
        ("IND-5",),
    ),
)
