"""A sense of time: the minutes each stage of a role is planned to take, and what time says now.

Planned minutes live beside the role's bank, in `plan.yaml` (the hiring guide: the fundamentals
screen takes 45 minutes); a stage without minutes has no clock. `role.yaml`'s schema belongs to
`pipeline/retrieval/`, so the plan is a file of its own, read here:

    minutes:
      fundamentals-screen: 45
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml

from pipeline.errors import S2QError

TimeState = Literal["over_time", "time_short"]


@dataclass(frozen=True)
class StagePlan:
    """Planned minutes per stage id (stages not listed have no plan)."""

    minutes: dict[str, float] = field(default_factory=dict)

    @classmethod
    def load(cls, role_folder: Path) -> "StagePlan":
        path = Path(role_folder) / "plan.yaml"
        if not path.exists():
            return cls()
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            minutes = {str(k): float(v) for k, v in (data.get("minutes") or {}).items()}
        except (yaml.YAMLError, AttributeError, TypeError, ValueError) as exc:
            raise S2QError(f"{path}: expected `minutes: {{stage-id: number}}` ({exc})") from exc
        if any(m <= 0 for m in minutes.values()):
            raise S2QError(f"{path}: planned minutes must be positive")
        return cls(minutes)


@dataclass(frozen=True)
class TimeNote:
    """What time says about the current stage, for the interviewer.

    Attributes:
        state: `over_time` (move on) or `time_short` (competencies of the stage not covered yet).
        stage: the stage it is about.
        text: the sentence shown.
    """

    state: TimeState
    stage: str
    text: str


def time_note(stage: str, stage_name: str, spent_s: float, planned_min: float | None, uncovered: list[str],
              next_name: str | None, short_min: float) -> TimeNote | None:
    """Over time: say so and name the next stage. Time short with competencies uncovered: name them."""
    if planned_min is None:
        return None
    spent_min = spent_s / 60.0
    if spent_min > planned_min:
        move = f"; move on to {next_name}" if next_name else "; time to wrap up"
        return TimeNote("over_time", stage, f"{stage_name} is over time ({spent_min:.0f} of {planned_min:.0f} min){move}")
    left = planned_min - spent_min
    if left <= short_min and uncovered:
        return TimeNote("time_short", stage,
                        f"{left:.0f} min left in {stage_name}: {' and '.join(uncovered)} not covered yet")
    return None
