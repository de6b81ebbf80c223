"""A QR-code audio and text tour for the heritage sites of Pulau Penyengat."""

__version__ = "0.1.0"
