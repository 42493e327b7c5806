"""Sealing credentials at rest: Fernet (AES-128-CBC + HMAC-SHA256) from `cryptography`."""
