"""The staff studio under /admin."""
