"""Constants of the bench protocol (../shared/spec/bench-protocol.md), version 1.1.

The one module the simulator shares with the harness: it holds what the spec says,
nothing either side invented.
"""

from __future__ import annotations

PROTOCOL_VERSION = "1.1"
MAX_LINE_BYTES = 4096  # including the line end
MAX_REQUEST_ID = 2**31 - 1
RESPONSE_TIMEOUT_S = 1.0  # every request is answered within 1 s unless the command says otherwise
BOOT_TIMEOUT_S = 10.0  # after device.reboot / factory_reset / power on
MAX_DRIFT_PPM = 200.0

KINDS = ("photo", "video", "audio")
SCOPES = KINDS
RECORD_KINDS = ("video", "audio")
SOURCES = ("user", "agent")
METADATA_FIELDS = ("location", "faces", "transcript")
GESTURES = ("button", "app", "voice")
TRACKS = ("video", "audio")
ARTIFACT_READ_MAX = 2048  # `artifact.read` `length`: 1 to this many bytes per request
# Where the stored file of each kind keeps its data ("Stored media"): the format by kind.
MEDIA_FORMATS = {"photo": "jpeg", "video": "mp4", "audio": "mp4"}

ERROR_CODES = (
    "BAD_REQUEST",
    "UNKNOWN_COMMAND",
    "UNSUPPORTED",
    "CONSENT_REQUIRED",
    "INDICATOR_FAULT",
    "BUSY",
    "NOT_RECORDING",
    "NOT_FOUND",
    "INTERNAL",
)

COMMANDS = (
    "hello",
    "clock",
    "state",
    "consent.grant",
    "consent.revoke",
    "capture.photo",
    "record.start",
    "record.stop",
    "artifact.list",
    "artifact.info",
    "artifact.read",
    "artifact.delete",
    "indicator.selftest",
    "device.reboot",
    "device.factory_reset",
)

EVENTS = (
    "boot",
    "capture.begin",
    "capture.frame",
    "capture.end",
    "indicator",
    "consent",
    "log",
)

BOOT_REASONS = ("power_on", "reboot", "factory_reset", "crash")
END_REASONS = ("user", "consent_revoked", "indicator_fault", "error", "power")
SELFTEST_MS_RANGE = (1, 5000)
