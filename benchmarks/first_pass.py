"""The first pass (the live line) against plain whole-clip decoding, and cheap levers on it (issue 25).

The interviewer reads the first pass, and early alerts are matched on it. Here each lever is a
first-pass setting (`TranscriberOptions`) run through the live path on the audio clock
(`pipeline.bench.latency.measure`: segmenter, speculative guesses, end of turn, pieced turns; no
second pass), scored by WER against the references, beside plain faster-whisper on the whole clip
(greedy, and beam 5 with its defaults) on the same files. Groups: the radio set's spontaneous
calls (ve9qrp, cq_ref, vk5qi: real conversational speech, one side of a call) and its read
sentences (the demo's first pass is in `s2q bench`).

    python benchmarks/first_pass.py [--levers beam1,beam2,beam3,noprompt,gates-before,commit10,nocommit] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from dataclasses import replace
from pathlib import Path

from pipeline.audio.speech_gates import SpeechGates

SPONTANEOUS = {"ve9qrp", "cq_ref", "vk5qi"}
LEVERS = {
    "beam1": {},  # today's first pass: greedy, fitted window, the speaker's context as prompt
    "beam2": {"beam_size": 2},
    "beam3": {"beam_size": 3},
    "noprompt": {"context_chars": 0},
    # the speech gates before issue 25 (no unsure-words, sound-words or bleed gate): what the new gates cost real speech
    "gates-before": {"gates": SpeechGates.before_issue_25()},
}
SEGMENTER_LEVERS = {  # how a long turn is committed in pieces while spoken (`SegmenterOptions.commit_after_s`)
    "commit10": {"commit_after_s": 10.0},
    "nocommit": {"commit_after_s": 0.0},
}


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main(argv: list[str] | None = None) -> int:
    from pipeline.audio.sources import decode_file
    from pipeline.audio.transcriber import Transcriber
    from pipeline.bench.latency import Hearing, measure, plain_transcribe
    from pipeline.bench.radiospeech import load_radio_speech_set
    from pipeline.bench.wer import wer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levers", default=",".join([*LEVERS, *SEGMENTER_LEVERS]))
    parser.add_argument("--groups", default="radio, spontaneous;radio, read", help="semicolon-separated")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    clips = load_radio_speech_set()
    groups = {"radio, spontaneous": [c for c in clips if c.id in SPONTANEOUS],
              "radio, read": [c for c in clips if c.id not in SPONTANEOUS]}
    base = Transcriber()
    base.warm_up()
    result: dict = {"load_1min": round(os.getloadavg()[0], 2), "groups": {}}
    for name, group in groups.items():
        if name not in args.groups.split(";"):
            continue
        refs = [c.text for c in group]
        row: dict = {"clips": len(group), "audio_s": round(sum(c.duration for c in group), 1)}
        for label, defaults in (("plain whole clip, beam 1", False), ("plain whole clip, beam 5", True)):
            texts, cpu0 = [], _cpu()
            for c in group:
                texts.append(plain_transcribe(base.model, decode_file(c.path, 1)[0], defaults=defaults)[0])
            row[label] = {"wer": round(100 * wer(refs, texts), 2),
                          "cpu_s_per_audio_s": round((_cpu() - cpu0) / row["audio_s"], 3)}
        for lever in args.levers.split(","):
            t = Transcriber(replace(base.opts, **LEVERS[lever])) if LEVERS.get(lever) else base
            hearing = Hearing(second_pass=None)
            if lever in SEGMENTER_LEVERS:
                hearing = replace(hearing, segmenter=replace(hearing.segmenter, **SEGMENTER_LEVERS[lever]))
            started, cpu0 = time.perf_counter(), _cpu()
            run = measure([(c.path, ["candidate"]) for c in group], t, None, hearing=hearing)
            texts = [" ".join(text for _, _, text in sorted(run.transcripts[str(c.path)])) for c in group]
            row[f"first pass {lever}"] = {"wer": round(100 * wer(refs, texts), 2),
                                          "cpu_s_per_audio_s": round((_cpu() - cpu0) / row["audio_s"], 3),
                                          "wall_s": round(time.perf_counter() - started, 1)}
        result["groups"][name] = row
        print(name, json.dumps(row), flush=True)
    result["load_1min_end"] = round(os.getloadavg()[0], 2)
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
