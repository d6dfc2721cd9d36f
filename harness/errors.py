"""What can go wrong, sorted by whose fault it is.

A `BenchFault` means the bench itself failed (serial link, instrument, station): the
result is BROKEN, never a clause FAIL. A `DeviceError` is the device answering
`ok: false`, which is evidence about the device, not a bench fault.
"""

from __future__ import annotations


class TallyError(Exception):
    """Base of every error the harness raises on purpose."""


class ConfigError(TallyError):
    """A station, lab or profile file is malformed: names the file, the key and the problem."""


class LeaseError(TallyError):
    """No station of the lab could be leased in time (all busy, or too many workers)."""


class ArtifactReadError(TallyError):
    """The device did not serve its stored file as `artifact.read` must (a short, garbled,
    growing or endless answer): evidence against the device, never a bench fault; it
    FAILs the clauses the file serves (clauses.md "What counts as evidence")."""


class ArtifactBeyondBounds(TallyError):
    """The stored file lies beyond what the station reads (`max_artifact_bytes`, or too
    few bytes per request to finish): nothing was observed, so no PASS either way."""


class BenchFault(TallyError):
    """The bench failed; whatever test was running is BROKEN with this reason."""


class TransportError(BenchFault):
    """The serial link failed: port gone, write failed, reader died."""


class ResponseTimeout(TransportError):
    """A request got no response within its bound."""


class ProtocolError(TransportError):
    """The device broke the wire protocol (e.g. a response that cannot belong to the request)."""


class InstrumentError(BenchFault):
    """The photodiode or power instrument failed or reported a SCPI error."""


class CalibrationError(BenchFault):
    """The station's light path is not usable (light leak, wrong threshold, no photodiode)."""


class DeviceError(TallyError):
    """The device answered `ok: false` with one of the spec's error codes."""

    def __init__(self, code: str, message: str = "", cmd: str = "") -> None:
        super().__init__(f"{cmd}: {code}: {message}" if cmd else f"{code}: {message}")
        self.code = code
        self.message = message
        self.cmd = cmd
