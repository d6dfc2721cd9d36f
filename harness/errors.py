"""What can go wrong, sorted by whose fault it is.

A `BenchFault` means the bench itself failed (serial link, instrument, station): the
result is BROKEN, never a clause FAIL. A `DeviceError` is the device answering
`ok: false`, and a `ResponseBreach` a response that lacks or garbles a field the protocol
names: both are evidence about the device, not bench faults (clauses.md "What counts as
evidence": a device must not turn its own nonconformance into BROKEN). A `ClauseFailure`
carries verdicts as data, so no verdict is ever read from an exception's text.
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
    """The link carries something no request can own (a duplicate or unknown response id):
    the bench can no longer tell which answer is which."""


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


class ResponseBreach(TallyError):
    """A response that parses but lacks a field the protocol names, or has it malformed:
    the device breaks the protocol, which FAILs the clauses that command serves."""

    def __init__(self, cmd: str, detail: str) -> None:
        super().__init__(f"{cmd}: {detail}")
        self.cmd = cmd
        self.detail = detail


class ClauseFailure(TallyError):
    """A check that is not a measurement gave verdicts (FAIL or INCONCLUSIVE) for clauses;
    the verdicts travel as data from here to the summary, Allure and the report."""

    def __init__(self, verdicts: dict[str, str], reason: str) -> None:
        super().__init__(reason)
        self.verdicts = dict(verdicts)  # clause id -> verdict value ("FAIL", "INCONCLUSIVE")
        self.reason = reason


class CaptureDeclined(TallyError):
    """A capture that consent allowed was declined (BUSY, or any refusal) after bounded
    retries: nothing could be observed, which is no PASS (clauses.md): INCONCLUSIVE."""

    def __init__(self, kind: str, code: str) -> None:
        super().__init__(f"no capture could be observed: {kind} was declined with {code}")
        self.kind = kind
        self.code = code
