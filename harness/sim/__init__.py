"""The simulated bench: glasses on a real pty, a photodiode DMM and a supply on TCP.

The simulator is the device, not a helper of the tests: it imports nothing from the
harness but `harness.spec`. Pieces, one idea each:

- `led` — the LED timeline the device writes and the instrument reads
- `device` — `SimDevice`, the protocol state machine (`capture`, `commands`, `lifecycle`
  its commands); `config` its knobs; `protocol` the wire's letter; `reactor` its one
  thread; `pty_port` its port; `led_driver` its LED control; `device_clock` its clock;
  `storage` its media; `voice` its words and ids; `console` what it prints besides
  messages; `lawyer` the seeded spec-lawyer mode that takes every liberty the spec allows
- `faults` — the catalogue of realistic misbehaviours and the verdicts they must lead to
  (`fault` what one is, `liars` the cheats that hide a violation behind the protocol)
- `scpi`, `instrument`, `power` — the SCPI photodiode instrument and bench supply
- `station` — `SimStation`, all of it wired together; ``python -m harness.sim`` runs one
"""
