"""The after-call report: read a session record, render it for the interviewer."""

from pipeline.report.record import Session, SessionError, load_session
from pipeline.report.render import MAX_NEVER_ASKED, render_report

__all__ = ["MAX_NEVER_ASKED", "Session", "SessionError", "load_session", "render_report"]
