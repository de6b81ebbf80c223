"""HTTP helpers both sides use: reading bodies, answer headers, clients, negotiation."""
