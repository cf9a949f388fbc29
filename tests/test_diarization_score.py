"""The real-speech speaker bench's scores (benchmarks/diarization.py) on hand examples."""

import pytest

from benchmarks.diarization import attribution, der

REF = [(0.0, 4.0, "A"), (3.5, 6.0, "B"), (7.0, 10.0, "A"), (9.0, 9.6, "C")]
HYP = [(0.2, 3.8, "s1"), (3.8, 7.5, "s2"), (7.5, 10.2, "s1"), (9.1, 9.5, "s3")]


@pytest.mark.parametrize("collar, expected", [
    # pyannote-metrics 4.2.0, DiarizationErrorRate(collar=...)(REF, HYP, detailed=True), run once by hand
    (0.0, {"der": 0.2574, "total": 10.1, "missed": 0.9, "false_alarm": 1.2, "confusion": 0.5}),
    (0.5, {"der": 0.121, "total": 6.2, "missed": 0.0, "false_alarm": 0.5, "confusion": 0.25}),
])
def test_der_matches_pyannote_metrics(collar, expected):
    assert der(REF, HYP, collar=collar) == expected


def test_attribution_maps_labels_one_to_one_and_splits_speech_time():
    ref = [(0.0, 4.0, "A"), (4.0, 6.0, "B"), (6.0, 10.0, "A")]
    hyp = [(0.0, 4.0, "x"), (4.0, 5.0, "y"), (5.0, 6.0, "unknown"), (6.0, 9.0, "y")]
    got = attribution(ref, hyp)
    # x -> A (4 s in common) and y -> B (1 s): y's 3 s under A's speech are wrong, 1 s is missed
    assert (got["right"], got["wrong"], got["unknown"], got["missed"]) == (0.5, 0.3, 0.1, 0.1)
    assert got["labels"] == 2 and got["seconds"] == 10.0


def test_one_label_for_everyone_is_right_only_for_one_speaker():
    ref = [(0.0, 6.0, "A"), (6.0, 10.0, "B")]
    got = attribution(ref, [(0.0, 10.0, "speaker-1")])
    assert (got["right"], got["wrong"]) == (0.6, 0.4)
    assert der(ref, [(0.0, 10.0, "speaker-1")], collar=0.0)["der"] == 0.4
