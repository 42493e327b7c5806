"""Sunap: payments for merchants on Toss Payments."""
