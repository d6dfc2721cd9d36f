"""The wire: bytes to lines to typed messages, the serial log, and the device client.

The lowest layer: it knows the bench protocol and pyserial, nothing of instruments or verdicts.
"""
