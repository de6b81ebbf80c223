"""QR scans: the store that counts them per stop and hour, and the figures made from it."""
