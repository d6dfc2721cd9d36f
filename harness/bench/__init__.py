"""The assembled bench: station files, preflight, clock sync, power cycles, the simulator process.

Built on the wire and the instruments; knows nothing of pytest or verdicts.
"""
