"""Print: QR codes (PNG, SVG, terminal) and the plaque PDFs with their print check and fonts."""
