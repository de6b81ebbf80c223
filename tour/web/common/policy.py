"""The staff pages' Content-Security-Policy, shared by the studio and the header guard."""

STAFF_PREFIX = "/admin"
"""Where the studio is mounted (`app.add_subapp`)."""

STAFF_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "media-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)
