"""Each speaker's recent text (`pipeline.audio.speaker_text`): the prompt for what they say next."""

from __future__ import annotations

from pipeline.audio.speaker_text import SpeakerText


def test_the_prompt_is_the_last_characters_of_the_same_speakers_text():
    said = SpeakerText(chars=20)
    said.add("candidate", 1, "I worked on ranking.")
    said.add("interviewer", 2, "Why?")
    said.add("candidate", 3, "It paid well.")
    assert said.prompt("candidate") == ("I worked on ranking. It paid well.")[-20:]
    assert said.prompt("interviewer") == "Why?" and said.prompt("nobody") == ""
    said.add("candidate", 4, "")  # silence adds nothing
    assert said.prompt("candidate") == ("I worked on ranking. It paid well.")[-20:]


def test_a_revision_replaces_the_text_it_revises():
    said = SpeakerText(chars=200, keep=2)
    said.add("candidate", 1, "one")
    said.add("candidate", 2, "too")
    said.revise("candidate", 2, "two")
    said.add("candidate", 3, "three")  # keeps two: "one" is gone
    assert said.prompt("candidate") == "two three"


def test_no_characters_no_prompt():
    said = SpeakerText(chars=0)
    said.add("candidate", 1, "anything")
    assert said.prompt("candidate") == ""
