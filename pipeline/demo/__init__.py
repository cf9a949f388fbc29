"""The bundled demo interview: a stereo recording (interviewer left, candidate right) and its script."""

from pathlib import Path

DEMO = Path(__file__).resolve().parent / "interview.ogg"
