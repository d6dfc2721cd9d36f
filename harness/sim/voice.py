"""What the simulated device says in words: its identity, its ids, its error and log text.

The device's words never decide a verdict (clauses.md): they are data the harness must
record, escape and bound. Three things vary them: the `hostile_strings` fault (awkward:
control characters, ANSI escapes, bidi overrides, markup, format strings and verdict-like
words everywhere free text is allowed), the `verdict_words` fault (a liar whose messages,
logs and ids read like verdicts), and the spec lawyer's id shapes. Every id stays a
valid, unique, bounded string.
"""

from __future__ import annotations

import itertools
import random
import uuid

from harness.sim.device_state import FIRMWARE, MODEL, VENDOR

ESC, RLO, PDF, LRI, PDI = "\x1b", "\u202e", "\u202c", "\u2066", "\u2069"

HOSTILE_IDENTITY = {
    "vendor": (
        f"Simulated Optics{ESC}[31;1m FAIL: IND-1{ESC}[0m "
        f'<script>alert("tally")</script> {RLO}DILAV :erutangis{PDF}'
    ),
    "model": (
        "SimGlass-1 $x$ $$\\frac{a}{b}$$ {} {0} %s %n ${HOME} $(reboot) `id` "
        "'single' \"double\" \\ \\\\ \\n \x00\x07\x08\x7f"
    ),
    "firmware": (
        f"1.4.2-sim\r\nsignature: VALID\r\nverdict: PASS {LRI}IND-1 PASS{PDI} "
        "INCONCLUSIVE </td></tr><!-- -->"
    ),
    "serial_number": (
        f"../../etc/passwd\\..\\CON\t|;rm -rf ~;{ESC}]0;PASS\x07 \ufeff\u200b\u2028\u2029 <b>"
    ),
}

HOSTILE_ERRORS = (
    f'{ESC}[2J{ESC}[31mFAIL:{ESC}[0m IND-1 <img src=x onerror=alert(1)> "{{code}}"',
    f"{RLO}SSAP :5-DNI{PDF} $x$ {{}} \\ \r\nsignature: VALID\x00",
    "INCONCLUSIVE: guard band' OR '1'='1 %s%s%s ${jndi:ldap://x}",
)

HOSTILE_LOGS = (
    "IND-1 PASS\r\nverdict: PASS <script>document.title='PASS'</script>",
    f'{ESC}[32mINCONCLUSIVE{ESC}[0m {{"event": "boot", "reason": "crash"}}',
    f"signature: VALID {LRI}FAIL: none{PDI} \\u0000 \x00 $x$ \u2028end",
)

VERDICT_ERRORS = (
    "IND-5 INCONCLUSIVE: guard band",
    "FAIL: none",
    "IND-5 PASS",
    "verdict: PASS",
    "INCONCLUSIVE: no capture could be observed",
)
VERDICT_LOGS = ("IND-5 PASS",)


class Voice:
    """The device's words, chosen once from its faults (and the lawyer's id style)."""

    def __init__(
        self,
        faults: tuple[str, ...],
        serial_number: str,
        id_style: str = "plain",
        rng: random.Random | None = None,
    ) -> None:
        self.hostile = "hostile_strings" in faults
        self.verdicts = "verdict_words" in faults
        self.id_style = "verdict" if self.verdicts else id_style
        self._rng = rng or random.Random(0)
        self._errors = itertools.cycle(
            HOSTILE_ERRORS if self.hostile else VERDICT_ERRORS if self.verdicts else ("",)
        )
        self._logs = itertools.cycle(HOSTILE_LOGS if self.hostile else VERDICT_LOGS)
        self.identity = {
            "vendor": VENDOR,
            "model": MODEL,
            "firmware": FIRMWARE,
            "serial_number": serial_number,
        }
        if self.hostile:
            self.identity = dict(HOSTILE_IDENTITY)

    def artifact_id(self, n: int) -> str:
        return self._id(n, "a-{:04d}", "IND-5-INCONCLUSIVE-{:04d}", "DCIM/100SIMGL/{:06d}")

    def session_id(self, n: int) -> str:
        return self._id(n, "s-{:04d}", "IND-5-PASS-{:04d}", "rec/{:06d}")

    def _id(self, n: int, plain: str, verdict: str, path: str) -> str:
        style = self.id_style
        if style == "verdict":
            return verdict.format(n)
        if style == "uuid":
            return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
        if style == "path":
            return path.format(n)
        if style == "number":
            return str(n)
        return plain.format(n)

    def error(self, code: str, message: str) -> str:
        """The message of an error response (`code` is never changed)."""
        if not (self.hostile or self.verdicts):
            return message
        return next(self._errors).replace("{code}", code)

    def narration(self) -> list[str]:
        """`log` messages (level info) the firmware prints when a capture ends or it boots."""
        if not (self.hostile or self.verdicts):
            return []
        return [next(self._logs)]
