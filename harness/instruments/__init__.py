"""Bench instruments over SCPI (photodiode, supply, shutter) and the monitors that sample
them in the background while a test step runs.

Built on pyvisa; knows nothing of the device protocol, pytest or verdicts.
"""
