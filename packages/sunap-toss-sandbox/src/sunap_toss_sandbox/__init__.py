"""A stateful emulator of the Toss Payments Core API v1, with a control plane and a pytest plugin."""
