"""pipeline.audio.segmenter: webrtcvad cuts real (espeak) speech into utterances."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from conftest import SENTENCE_B, SR, Speech, compose, silence, white_noise

from pipeline.audio.segmenter import Segmenter, SegmenterOptions
from pipeline.audio.sources import AudioChunk
from pipeline.events import Utterance

TOLERANCE_S = 0.35


def segment(audio: np.ndarray, options: SegmenterOptions | None = None, speaker: str = "unknown",
            chunk_sizes: list[int] | None = None, next_id=None) -> list[Utterance]:
    seg = Segmenter(speaker, options, next_id=next_id)
    out: list[Utterance] = []
    if chunk_sizes is None:
        out += seg.feed(audio)
    else:
        pos = 0
        for size in itertools.cycle(chunk_sizes):
            if pos >= len(audio):
                break
            out += seg.feed(audio[pos : pos + size])
            pos += size
    out += seg.flush()
    return out


def assert_audio_matches_times(u: Utterance, source: np.ndarray) -> None:
    """The utterance's samples are exactly the source between its start and end."""
    a, b = round(u.start * SR), round(u.end * SR)
    assert b - a == len(u.audio)
    np.testing.assert_array_equal(u.audio, source[a:b])


@pytest.fixture(scope="module")
def two_utterances(two_sentences: Speech) -> list[Utterance]:
    return segment(two_sentences.audio)


def test_two_sentences_two_utterances(two_sentences, two_utterances):
    assert len(two_utterances) == 2
    for u, (start, end) in zip(two_utterances, two_sentences.spans):
        assert abs(u.start - start) <= TOLERANCE_S, (u.start, start)
        assert abs(u.end - end) <= TOLERANCE_S, (u.end, end)
        assert u.speaker == "unknown"
        assert u.final is True
        assert u.audio.dtype == np.float32
        assert_audio_matches_times(u, two_sentences.audio)
    assert two_utterances[0].end < two_utterances[1].start


def test_pre_roll_keeps_the_onset(two_sentences, two_utterances):
    for u, (start, end) in zip(two_utterances, two_sentences.spans):
        assert u.start <= start, "the first syllable was cut"
        assert u.end >= end - 0.05, "the last syllable was cut"


def test_soft_onset_kept(tts):
    """A sentence that starts on a quiet fricative still starts no later than its first sound."""
    speech = tts("She sells sea shells by the shore.")
    audio = np.concatenate([silence(1.0), speech, silence(1.0)])
    (u,) = segment(audio)
    assert u.start <= 1.0
    assert u.start >= 1.0 - TOLERANCE_S - 0.2
    assert u.end >= 1.0 + len(speech) / SR - 0.05
    assert_audio_matches_times(u, audio)


def test_speaker_label_kept(two_sentences):
    utterances = segment(two_sentences.audio, speaker="candidate")
    assert [u.speaker for u in utterances] == ["candidate", "candidate"]


@pytest.mark.parametrize("ms", [60, 100, 140])
def test_short_speech_blip_ignored(tts, ms):
    speech = tts("Hello there, how are you doing?")
    n = ms * SR // 1000
    loudest = max(range(0, len(speech) - n, 160), key=lambda i: float(np.mean(speech[i : i + n] ** 2)))
    blip = speech[loudest : loudest + n]
    assert np.sqrt(np.mean(blip**2)) > 0.05  # a real, loud bit of voice
    assert segment(np.concatenate([silence(1.0), blip, silence(1.0)])) == []


def test_click_ignored():
    audio = silence(2.0)
    audio[SR : SR + 16] = np.hanning(16) * 0.9
    assert segment(audio) == []


def test_digital_silence_ignored():
    assert segment(silence(5.0)) == []


@pytest.mark.parametrize("level", [-60, -40])
def test_low_white_noise_ignored(level):
    assert segment(white_noise(5.0, level, seed=3)) == []


# -- long monologue ------------------------------------------------------------------


@pytest.fixture(scope="module")
def monologue_options() -> SegmenterOptions:
    return SegmenterOptions(max_utterance_s=10)


@pytest.fixture(scope="module")
def monologue_pieces(monologue, monologue_options) -> list[Utterance]:
    return segment(monologue.audio, monologue_options)


def test_monologue_split_below_maximum(monologue, monologue_options, monologue_pieces):
    limit = monologue_options.max_utterance_s + monologue_options.tail_ms / 1000
    assert len(monologue_pieces) >= 3
    for u in monologue_pieces:
        assert u.duration <= limit + 1e-9, u.duration
    for u in monologue_pieces[:-1]:
        assert u.continues  # pieces of one turn (pipeline.memory.PiecedTurns joins them)
        assert np.sqrt(np.mean(u.audio**2)) > 0.01  # each piece has speech in it
    # The last one ends the turn: its last words, or silence when the turn ended at a piece's pause.
    assert not monologue_pieces[-1].continues


def test_monologue_no_audio_lost(monologue, monologue_pieces):
    first, last = monologue_pieces[0], monologue_pieces[-1]
    speech_start, speech_end = monologue.spans[0][0], monologue.spans[-1][1]
    assert first.start <= speech_start
    assert last.end >= speech_end - 0.05
    for a, b in zip(monologue_pieces, monologue_pieces[1:]):
        assert abs(b.start - a.end) < 1e-9, f"gap or overlap between {a.end} and {b.start}"
    total = sum(u.duration for u in monologue_pieces)
    span = speech_end - speech_start
    assert span - 0.05 <= total <= span + 2 * TOLERANCE_S
    for u in monologue_pieces:
        assert_audio_matches_times(u, monologue.audio)


def test_monologue_split_in_pauses(monologue, monologue_pieces):
    """Splits fall between sentences, not in the middle of a word."""
    gaps = [(a[1], b[0]) for a, b in zip(monologue.spans, monologue.spans[1:])] + [(monologue.spans[-1][1], 1e9)]
    for u in monologue_pieces[:-1]:
        assert any(g0 - 0.03 <= u.end <= g1 + 0.03 for g0, g1 in gaps), f"split at {u.end:.2f}s is inside speech"


def test_odd_chunk_sizes_same_result(monologue, monologue_options, monologue_pieces):
    pieces = segment(monologue.audio, monologue_options, chunk_sizes=[1, 7, 479, 480, 481, 1000, 3333, 17, 160])
    assert [(u.id, u.start, u.end) for u in pieces] == [(u.id, u.start, u.end) for u in monologue_pieces]
    for a, b in zip(pieces, monologue_pieces):
        np.testing.assert_array_equal(a.audio, b.audio)


def test_audio_chunks_accepted(two_sentences, two_utterances):
    seg = Segmenter("interviewer")
    out: list[Utterance] = []
    step = 480
    for offset in range(0, len(two_sentences.audio), step):
        chunk = AudioChunk("interviewer", two_sentences.audio[offset : offset + step], offset / SR)
        out += seg.feed(chunk)
    out += seg.flush()
    assert [(u.start, u.end) for u in out] == [(u.start, u.end) for u in two_utterances]


def test_ids_unique_across_segmenters(two_sentences, monologue):
    counter = itertools.count()
    shared = counter.__next__
    ids = [u.id for u in segment(monologue.audio, SegmenterOptions(max_utterance_s=10), next_id=shared)]
    ids += [u.id for u in segment(two_sentences.audio, speaker="candidate", next_id=shared)]
    assert len(ids) >= 5
    assert len(set(ids)) == len(ids)


def test_ids_unique_within_one_segmenter(monologue_pieces):
    ids = [u.id for u in monologue_pieces]
    assert len(set(ids)) == len(ids)
    assert all(isinstance(i, int) for i in ids)
    assert ids == sorted(ids)  # in the order they were spoken


def test_timeline_has_speech_end(two_utterances, monologue_pieces):
    for u in two_utterances + monologue_pieces:
        assert "speech_end" in u.timeline.stamps
        assert isinstance(u.timeline.stamps["speech_end"], float)
    stamps = [u.timeline.stamps["speech_end"] for u in monologue_pieces]
    assert stamps == sorted(stamps)


def test_flush_ends_speech_cut_off_by_end_of_stream(tts):
    speech = tts("I like to read books in the morning.")
    audio = np.concatenate([silence(0.5), speech])  # no silence after: the stream just stops
    seg = Segmenter("unknown")
    assert list(seg.feed(audio)) == []
    (u,) = list(seg.flush())
    assert u.start <= 0.5
    assert u.end >= 0.5 + len(speech) / SR - 0.03
    assert list(seg.flush()) == []


def test_bad_frame_size_rejected():
    with pytest.raises(ValueError):
        Segmenter("unknown", SegmenterOptions(frame_ms=25))


def test_pause_inside_a_sentence_keeps_it_whole(tts, transcriber):
    """A pause longer than the hangover after a short opening ("By the way, ... how old are you?")
    must not leave the opening as a fragment decoded alone."""
    speech = compose([silence(0.5), "By the way,", silence(0.7), "how old are you?", silence(1.2)], tts)
    utterances = [u for u in segment(speech.audio) if not u.speculative]
    assert len(utterances) == 1
    text = transcriber.transcribe(utterances[0]).text.lower()
    assert "by the way" in text and "old are you" in text


def test_short_answer_still_ends_alone(tts):
    """A short answer followed by a long silence is its own utterance, closed after the short hangover."""
    opts = SegmenterOptions()
    speech = compose([silence(0.5), "Yes.", silence(2.0), SENTENCE_B, silence(1.0)], tts)
    utterances = segment(speech.audio, opts)
    assert len(utterances) == 2
    assert utterances[0].eou_delay == pytest.approx(opts.short_hangover_ms / 1000, abs=0.1)


def test_long_turn_split_cuts_no_word(tts):
    """A 60 s turn with only short pauses is split at the maximum length, and every split
    falls between two sentences' words, never inside one."""
    from conftest import MONOLOGUE

    rng = np.random.default_rng(11)
    parts: list = [silence(0.5)]
    for sentence in MONOLOGUE * 2:
        parts += [sentence, silence(float(rng.uniform(0.15, 0.25)))]
    speech = compose(parts + [silence(1.0)], tts)
    assert speech.spans[-1][1] > 55.0
    utterances = [u for u in segment(speech.audio) if not u.speculative]
    assert len(utterances) >= 3
    for u in utterances[:-1]:
        inside = [(a, b) for a, b in speech.spans if a + 0.02 < u.end < b - 0.02]
        assert not inside, f"split at {u.end:.2f} s cuts the sentence spoken {inside[0]}"
