"""The narration: the voices (Google, eSpeak NG), what is spoken, timed captions, the build
and its manifest of MP3 and WebVTT files."""
