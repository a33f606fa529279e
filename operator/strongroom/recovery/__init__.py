"""Disaster recovery: an encrypted export of every Safe, Account (with its credential) and the request
history, which only the holder of a private key can open, and its restore into an empty cluster."""
