"""Photos: the web sizes and formats built from the stop files' photos, and their manifest."""
