"""Hearing a conversation right and fast (issue 9): end of turn at a complete sentence, long turns
committed while spoken, the second pass that revises finals, hotwords that never leak."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import MONOLOGUE, SR, compose, silence, write_wav

from pipeline.audio.end_of_turn import end_point, is_complete
from pipeline.audio.second_pass import SecondPass, SecondPassOptions
from pipeline.audio.segmenter import Segmenter, SegmenterOptions
from pipeline.audio.transcriber import drop_prompt_echo
from pipeline.events import Transcript, Utterance

# -- end of turn -----------------------------------------------------------------------


@pytest.mark.parametrize("text", ["How old are you?", "By the way, how old are you?", "Yes.",
                                  "We retrained the model every month.", "I can handle the schedule!"])
def test_complete_sentences(text):
    assert is_complete(text)


@pytest.mark.parametrize("text", ["", "By the way,", "Ask not.", "and then I", "I worked on the.",
                                  "We moved to a new team and", "So what I mean is...", "Well"])
def test_incomplete_sentences(text):
    assert not is_complete(text)


def end_of_turn(audio: np.ndarray, transcriber, speculate: bool = True) -> list[tuple[Utterance, float]]:
    """Final utterances as the engine cuts them, each with the second of audio when it went out:
    each speculative guess and each piece of a long turn is transcribed when offered, and a
    complete sentence ends the turn at the next frame (`end_point`, `Segmenter.end_early`)."""
    seg = Segmenter("interviewer", speculate=speculate)
    finals, end = [], None
    for i in range(0, len(audio), seg.frame_len):
        now = (i + seg.frame_len) / SR
        if end is not None and (u := seg.end_early(*end)) is not None:
            finals.append((u, now))
        end = None
        for u in seg.feed(audio[i : i + seg.frame_len]):
            if not u.speculative:
                finals.append((u, now))
            if u.speculative or u.continues:
                end = end_point(u, transcriber.transcribe(u).text)
    return finals + [(u, len(audio) / SR) for u in seg.flush()]


def test_a_complete_question_ends_the_turn_before_the_hangover(tts, transcriber):
    speech = compose([silence(0.5), "Where did you work before this job?", silence(1.5)], tts)
    finals = [u for u, _ in end_of_turn(speech.audio, transcriber)]
    assert len(finals) == 1
    opts = SegmenterOptions()
    assert finals[0].eou_delay < opts.hangover_ms / 1000 - 0.2  # ended at the guess, not the hangover
    assert "work before this job" in transcriber.transcribe(finals[0]).text.lower()


def test_an_incomplete_sentence_keeps_the_hangover(tts, transcriber):
    """"By the way," then a pause: not the end of the turn; the question after it joins it."""
    speech = compose([silence(0.5), "By the way,", silence(0.7), "how old are you?", silence(1.5)], tts)
    finals = [u for u, _ in end_of_turn(speech.audio, transcriber)]
    assert len(finals) == 1
    text = transcriber.transcribe(finals[0]).text.lower()
    assert "by the way" in text and "old are you" in text


def test_end_early_refuses_when_the_speaker_went_on(tts):
    speech = compose([silence(0.5), "How old are you?", silence(0.3), "And where do you live?", silence(1.5)], tts)
    seg = Segmenter("interviewer", speculate=True)
    guesses = [u for u in seg.feed(speech.audio[: int(speech.spans[1][0] * SR) + 4800]) if u.speculative]
    assert guesses
    assert seg.end_early(guesses[0].id, len(guesses[0].audio)) is None  # voice came after the guess


# -- long turns --------------------------------------------------------------------------


@pytest.mark.parametrize("pause_s", [0.09, 0.2])  # shorter than a commit; a commit, but shorter than the end
def test_a_long_turn_whose_last_piece_is_complete_ends_before_the_hangover(tts, transcriber, pause_s):
    """Past `commit_after_s` the turn is committed at a short pause; when that piece is a complete
    sentence and nobody speaks on, the turn ends there instead of after a whole hangover; a piece
    after which the speaker goes on within `end_pause_ms` does not end it."""
    parts: list = [silence(0.5)]
    for sentence in MONOLOGUE[:4]:
        parts += [sentence, silence(pause_s)]
    speech = compose(parts + [silence(1.5)], tts)
    opts = SegmenterOptions()
    assert speech.spans[-1][1] - speech.spans[0][0] > opts.commit_after_s
    # No guesses: here they would be transcribed at once and end the turn first; live, the piece
    # is often committed while its guess is still being transcribed.
    finals = end_of_turn(speech.audio, transcriber, speculate=False)
    assert [u.continues for u, _ in finals][-2:] == [True, False]  # committed at its end, then closed
    assert all(u.continues for u, _ in finals[:-1])  # one turn: no piece before the last ended it
    closing, closed_at = finals[-1]
    assert closed_at - speech.spans[-1][1] < opts.hangover_ms / 1000  # not 150 ms + a whole hangover after
    assert closing.duration < 0.1  # the turn's end, silent: its words are all in the piece


def test_a_60_s_turn_is_committed_while_spoken(tts):
    """Sentences 0.15-0.25 s apart for a minute: the turn is committed at its pauses as it goes,
    so what is left to decode when the speaker stops is short, and no piece cuts a word."""
    rng = np.random.default_rng(11)
    parts: list = [silence(0.5)]
    for sentence in MONOLOGUE * 2:
        parts += [sentence, silence(float(rng.uniform(0.15, 0.25)))]
    speech = compose(parts + [silence(1.5)], tts)
    assert speech.spans[-1][1] - speech.spans[0][0] > 55.0
    opts = SegmenterOptions()
    assert opts.commit_after_s > 0
    seg = Segmenter("candidate", opts)
    pieces = list(seg.feed(speech.audio)) + list(seg.flush())
    for u in pieces[:-1]:
        inside = [(a, b) for a, b in speech.spans if a + 0.02 < u.end < b - 0.02]
        assert not inside, f"cut at {u.end:.2f} s inside the sentence spoken {inside[0]}"
    last_words = max(b for _, b in speech.spans)
    undecoded = last_words - pieces[-1].start  # what is left to decode when the speaker stops
    assert undecoded <= opts.commit_after_s + 4.0, [round(u.duration, 1) for u in pieces]
    assert max(u.duration for u in pieces) < opts.max_utterance_s


# -- second pass -------------------------------------------------------------------------


class Revising:
    """The real transcriber whose second pass always hears one more word, so a revision is certain."""

    def __init__(self, real) -> None:
        self.real = real

    def __getattr__(self, name):
        return getattr(self.real, name)

    def redecode(self, utterance, context, beam_size, fit_window):
        return self.real.redecode(utterance, context, beam_size, fit_window) + " Indeed."


def test_a_revision_replaces_the_first_pass_text_in_the_report(tts, transcriber, workdir, tmp_path):
    from pipeline.audio.sources import FileSource
    from pipeline.engine import Engine, EngineOptions
    from pipeline.events import TranscriptEvent
    from pipeline.report import load_session, render_report
    from pipeline.retrieval.bank import load_bank
    from pipeline.sinks import JsonlSink

    speech = compose([silence(0.5), "We built a model to predict sales.", silence(1.2)], tts)
    path = write_wav(workdir / "second-pass.wav", speech.audio)
    options = EngineOptions(backpressure=True, second_pass=SecondPassOptions(with_backpressure=True))
    engine = Engine([FileSource(path, ["candidate"], realtime=False)], Revising(transcriber), options=options)
    record = tmp_path / "session.jsonl"
    sink = JsonlSink(path=record)
    events = list(engine.events())
    for event in events:
        sink.write(event)
    sink.close()
    finals = [e for e in events if isinstance(e, TranscriptEvent) and e.final]
    assert [e.revision for e in finals] == [0, 1]
    assert finals[0].utterance_id == finals[1].utterance_id
    assert finals[1].text.endswith("Indeed.") and not finals[0].text.endswith("Indeed.")
    assert finals[1].latency_ms["end_of_speech"] is not None
    kept = load_session(record).transcripts
    assert [e["text"] for e in kept] == [finals[1].text]
    assert finals[1].text in render_report(load_session(record), load_bank())


def utterance(uid: int, speaker: str = "candidate", seconds: float = 2.0) -> Utterance:
    return Utterance(id=uid, speaker=speaker, start=0.0, end=seconds, audio=np.zeros(int(seconds * SR), np.float32))


class Echo:
    """Records what the second pass was asked to decode."""

    def __init__(self) -> None:
        self.calls = []

    def redecode(self, u, context, beam_size, fit_window):
        self.calls.append((u.id, context))
        return f"better {u.id}"


def test_second_pass_sheds_the_oldest_and_prompts_with_the_same_speaker():
    echo = Echo()
    second = SecondPass(echo, SecondPassOptions(keep=2))
    second.offer(Transcript(utterance(1), "one"))
    second.offer(Transcript(utterance(2, "interviewer"), "two"))
    second.offer(Transcript(utterance(3), "three"))
    second.offer(Transcript(utterance(4, seconds=40.0), "too long to decode again"))
    assert second.shed == 1
    revisions = [second.run_one(), second.run_one(), second.run_one()]
    assert [r.utterance_id for r in revisions[:2]] == [2, 3] and revisions[2] is None
    assert echo.calls == [(2, ""), (3, "one")]


class StopsEarly:
    """A second pass that hears only the first sentence, as beam search in the 30 s window sometimes does."""

    def redecode(self, u, context, beam_size, fit_window):
        return "Thank you very much."


def test_a_revision_that_drops_speech_the_first_pass_heard_is_not_sent():
    second = SecondPass(StopsEarly(), SecondPassOptions())
    second.offer(Transcript(utterance(1), "Thank you very much. It was nice talking with you."))
    second.offer(Transcript(utterance(2), "Thank you very mach."))  # a correction of the same length
    assert second.run_one() is None  # 4 of 10 words: it stopped early
    revision = second.run_one()
    assert revision is not None and revision.utterance_id == 2 and revision.text == "Thank you very much."


# -- hotwords ----------------------------------------------------------------------------


def test_hotwords_do_not_leak_into_the_text():
    hotwords = "overfitting, regularization, precision, churn, AUC"
    assert drop_prompt_echo("Overfitting, regularization, precision, churn.", hotwords, seconds=0.5) == ""
    said = "We watched the churn and the AUC every week."
    assert drop_prompt_echo(said, hotwords, seconds=3.0) == said


def test_pieces_of_a_long_turn_go_out_as_one_final_the_whole_turn():
    from dataclasses import replace

    from pipeline.memory import PiecedTurns

    pieced = PiecedTurns()
    a, b = replace(utterance(10), continues=True), replace(utterance(11), start=2.0, end=4.0, continues=True)
    closing = replace(utterance(12), start=4.0, end=4.3)
    [so_far] = pieced.add(Transcript(a, "I mostly write quick scripts."))
    assert not so_far.utterance.final and so_far.utterance.id == 10
    pieced.add(Transcript(b, "Unit tests are the job of software engineers,"))
    [whole] = pieced.add(Transcript(closing, ""))  # the turn ended in silence after its last piece
    assert whole.utterance.final and whole.utterance.id == 10
    assert (whole.utterance.start, whole.utterance.end) == (0.0, 4.3)
    assert whole.text == "I mostly write quick scripts. Unit tests are the job of software engineers,"
    assert whole.utterance.timeline is b.timeline  # end of speech counts from the last words
    assert pieced.revise(11, "unit tests are the job of software engineers.") == (
        10, "I mostly write quick scripts. unit tests are the job of software engineers.")
    alone = Transcript(utterance(13), "Yes.")
    assert pieced.add(alone) == [alone]


def offer_assembled(pieced, second: SecondPass, transcript: Transcript) -> None:
    """As the engine's worker does: what the turn assembler puts out is offered to the second pass."""
    for out in pieced.assemble(transcript):
        second.offer(out.transcript, out.pieces)


def test_second_pass_hears_a_turn_that_came_in_pieces_whole():
    from dataclasses import replace

    from pipeline.memory import PiecedTurns

    echo, pieced = Echo(), PiecedTurns()
    second = SecondPass(echo, SecondPassOptions(min_words_kept=0.0))  # Echo's text is short
    offer_assembled(pieced, second, Transcript(replace(utterance(20), continues=True), "I mostly write quick scripts."))
    offer_assembled(pieced, second, Transcript(replace(utterance(21), start=2.0, end=4.0, continues=True),
                                              "Tests are not my job."))
    assert second.waiting == 0  # the turn goes on
    offer_assembled(pieced, second, Transcript(replace(utterance(22), start=4.0, end=4.3), ""))  # ended in silence
    revision = second.run_one()
    assert revision.whole_turn and revision.utterance_id == 20
    assert echo.calls == [(20, "")] and second.waiting == 0


def test_second_pass_hears_a_turn_too_long_for_one_window_piece_by_piece():
    from dataclasses import replace

    from pipeline.memory import PiecedTurns

    echo, pieced = Echo(), PiecedTurns()
    second = SecondPass(echo, SecondPassOptions(min_words_kept=0.0, max_turn_s=3.0))
    offer_assembled(pieced, second, Transcript(replace(utterance(40), continues=True), "First part."))
    offer_assembled(pieced, second, Transcript(replace(utterance(41), start=2.0, end=4.0), "Second part."))
    revisions = [second.run_one(), second.run_one()]
    assert [(r.utterance_id, r.whole_turn) for r in revisions] == [(40, False), (41, False)]


def test_a_turn_whose_end_was_shed_goes_out_before_the_next_utterance():
    from dataclasses import replace

    from pipeline.memory import PiecedTurns

    pieced = PiecedTurns()
    pieced.add(Transcript(replace(utterance(30), continues=True), "We never checked."))
    later = Transcript(replace(utterance(33), start=9.0, end=11.0), "Are you married?")
    cut, after = pieced.add(later)  # the turn's next piece was shed: it ends as it is
    assert cut.utterance.final and cut.utterance.id == 30 and cut.text == "We never checked."
    assert after is later


def test_the_second_pass_can_hear_with_a_bigger_model(tts, transcriber):
    """`SecondPassOptions.model`: revisions decoded by Whisper base (joined from its two packages)."""
    from conftest import SENTENCE_A, wer

    audio = tts(SENTENCE_A)
    second = SecondPass(transcriber, SecondPassOptions(model="base"))
    second.offer(Transcript(Utterance(id=5, speaker="candidate", start=0.0, end=len(audio) / SR, audio=audio),
                            "something else entirely"))
    revision = second.run_one()
    assert revision is not None and revision.utterance_id == 5
    assert wer(SENTENCE_A, revision.text) <= 0.15, revision.text
    base = transcriber.sibling("base")
    assert base is not transcriber and base.model_path.name == "whisper-base"
    assert transcriber.sibling("") is transcriber and transcriber.sibling(transcriber.opts.model) is transcriber


def test_an_archive_decodes_every_final_again_and_live_keeps_its_budget():
    """`replay --fast` and `s2q batch` (mode "fast"): every final decoded again, none shed, up to one
    window; live and paced keep the second pass's latency limits; off stays off."""
    from pipeline.session.build import engine_options
    from pipeline.session.config import SessionConfig

    archive = engine_options(SessionConfig(), "fast").second_pass
    assert archive.enabled and archive.with_backpressure and archive.keep >= 100_000
    assert archive.max_s == archive.max_turn_s == 30.0 and archive.beam_size == SecondPassOptions().beam_size
    assert engine_options(SessionConfig(), "paced").second_pass == SecondPassOptions()
    off = SessionConfig(second_pass=SecondPassOptions(enabled=False))
    assert not engine_options(off, "fast").second_pass.enabled
