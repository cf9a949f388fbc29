"""The interview: matching each final transcript against the bank, and the advisor's state."""

from pipeline.interview.step import InterviewStep, build_interview_step

__all__ = ["InterviewStep", "build_interview_step"]
