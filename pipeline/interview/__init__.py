"""The interview: matching each final transcript against the bank, and the advisor's state."""

from pipeline.interview.stage import InterviewStage, build_interview_stage

__all__ = ["InterviewStage", "build_interview_stage"]
