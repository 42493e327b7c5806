"""Fakes we own for unit-testing use cases: a tiny Toss, an in-memory unit of work, a clock, ids.

Each follows the Protocol it stands in for (sunap.application.ports / gateway) closely enough that
a use case cannot tell it from the real adapter, and records what happened for assertions.
"""
