"""Each speaker's recent final text: the prompt Whisper gets for what that speaker says next.

The one home for the idea. The first pass (`Transcriber`) keeps the text it heard, so a sentence
split by a pause is heard in context; the second pass (`SecondPass`) keeps the best text so far,
revisions included. They hold one each: the first pass never waits for a revision, and each is
used from its own thread.
"""

from __future__ import annotations


class SpeakerText:
    """Per speaker, their recent finals' texts by utterance id, oldest first.

    `chars`: the prompt is the last this many characters of them (0: no prompt). `keep`: at most
    this many utterances per speaker, where texts may be revised (a shorter revision can bring an
    older text back into the prompt); 0: only as many as the prompt needs now."""

    def __init__(self, chars: int, keep: int = 0) -> None:
        self.chars = chars
        self.keep = keep
        self._said: dict[str, list[tuple[int, str]]] = {}

    def prompt(self, speaker: str) -> str:
        """What the speaker said lately, as one text of at most `chars` characters."""
        if not self.chars:
            return ""
        return " ".join(text for _, text in self._said.get(speaker, ()))[-self.chars :]

    def add(self, speaker: str, utterance_id: int, text: str) -> None:
        """A final's text (an empty one adds nothing)."""
        if not (self.chars and text):
            return
        said = self._said.setdefault(speaker, [])
        said.append((utterance_id, text))
        if self.keep:
            del said[: -self.keep]
            return
        while len(said) > 1 and sum(len(t) + 1 for _, t in said[1:]) > self.chars:
            del said[0]  # the rest already fills the prompt

    def revise(self, speaker: str, utterance_id: int, text: str) -> None:
        """Better text for an utterance still remembered."""
        said = self._said.get(speaker, [])
        for i, (uid, _) in enumerate(said):
            if uid == utterance_id:
                said[i] = (uid, text)

    def clear(self) -> None:
        """Forget every speaker (a new session or file)."""
        self._said.clear()
