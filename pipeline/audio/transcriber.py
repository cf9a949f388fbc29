"""Whisper (faster-whisper) on utterances, with guards against its known failure modes.

Whisper invents text for silence and noise ("thank you for watching"), and can
loop on one phrase. The guards drop low-confidence no-speech segments, phrases
from video captions, and collapse repeated loops.
"""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import numpy as np

from pipeline.audio import SAMPLE_RATE
from pipeline.audio.language import AUTO, Detected, SpeakerLanguages, check_model_hears, model_for
from pipeline.audio.speaker_text import SpeakerText
from pipeline.audio.speech_gates import SpeakerLevels, SpeechGates
from pipeline.audio.text_guards import (  # noqa: F401 (drop_prompt_echo, has_loop: imported from here too)
    collapse_repeats,
    cut_repeat,
    drop_prompt_echo,
    has_loop,
)
from pipeline.errors import ModelNotFoundError, S2QError
from pipeline.events import UNKNOWN, Transcript, Utterance
from pipeline.models import resolve_model


@dataclass
class TranscriberOptions:
    """Whisper settings.

    Attributes:
      model: manifest name (`tiny.en`, `base`, ...) or a CTranslate2 model folder; empty: the
        language's default (`pipeline.audio.language.DEFAULT_MODEL`: tiny.en for English, base otherwise).
      language: `en`, `it`, or `auto` (each speaker's language detected once from their first
        seconds, `pipeline.audio.language`); anything but `en` needs a multilingual model.
      device: `cpu`, `cuda` or `auto`.
      compute_type: CTranslate2 compute type; `default` picks int8 on CPU, float16 on CUDA.
      cpu_threads: CTranslate2 threads; 0: half the CPU cores, at least one (`default_cpu_threads`).
      beam_size: 1 is greedy decoding, the fastest.
      gates: when decoded text is not taken as speech (silence, noise, laughter, the other
        side's voice leaking in): `pipeline.audio.speech_gates.SpeechGates`.
      fit_window: encode only the utterance (plus `window_pad_s` of silence) instead of
        Whisper's fixed 30 s window. CTranslate2's encoder accepts shorter inputs, and
        its cost grows with the input length, so short utterances get much cheaper.
        The WER cost is measured by `s2q bench` (see benchmarks/README.md).
      window_pad_s: silence appended to the utterance in the fitted window.
      min_window_s: the fitted window is never shorter than this.
      context_chars: decode each utterance with up to this many characters of the same
        speaker's recent final text as Whisper's prompt (0: none), so a sentence split by a
        pause or by the maximum length is heard in context. Text that only repeats the prompt
        is cut (`drop_prompt_echo`). 200 measured 13.61% -> 13.06% WER on radio_speech.
      hotwords: words to listen for (the role's vocabulary, `pipeline.retrieval` bank terms),
        given to Whisper ahead of the prompt as faster-whisper's `hotwords` do; text that only
        repeats them is cut like a prompt echo. Empty: none.
    """

    model: str = ""
    device: str = "cpu"
    compute_type: str = "default"
    cpu_threads: int = 0
    beam_size: int = 1
    language: str = "en"
    gates: SpeechGates = field(default_factory=SpeechGates)
    fit_window: bool = True
    window_pad_s: float = 1.0
    min_window_s: float = 3.0
    context_chars: int = 200
    hotwords: str = ""

    def __post_init__(self) -> None:
        self.model = model_for(self.language, self.model)


class Transcriber:
    """Turns an `Utterance` into a `Transcript`. Not thread-safe: one worker owns it."""

    def __init__(self, options: TranscriberOptions | None = None) -> None:
        self.opts = options or TranscriberOptions()
        path = resolve_model(self.opts.model, "whisper")
        from faster_whisper import WhisperModel

        device = self.opts.device
        compute = self.opts.compute_type
        if compute == "default":
            compute = "int8" if device == "cpu" else "default"
        try:
            self.model = WhisperModel(
                str(path), device=device, compute_type=compute,
                cpu_threads=self.opts.cpu_threads or default_cpu_threads(),
                local_files_only=True,
            )
        except (RuntimeError, ValueError) as exc:
            raise ModelNotFoundError(f"cannot load Whisper model from {path} on {device}: {exc}") from None
        self.model_path = path
        check_model_hears(self.opts.language, self.opts.model, self.model.model.is_multilingual)
        self.languages = SpeakerLanguages() if self.opts.language == AUTO else None
        self._toks: dict[str | None, object] = {}  # language -> Whisper tokenizer
        self.said = SpeakerText(self.opts.context_chars)  # each speaker's recent final text, the next prompt
        self.levels = SpeakerLevels(self.opts.gates)  # each side's usual voice level: the bleed gate
        self._twins: dict[str, Transcriber] = {}  # model -> its twin (idle priority)
        self._siblings: dict[str, Transcriber] = {}  # model -> a transcriber on it (normal priority)

    def twin(self, model: str = "") -> Transcriber:
        """A second model (`model`, else this one's), for another thread (the second pass): one model
        decodes one utterance at a time. Its native (CTranslate2) threads run only when a CPU would
        otherwise idle: it is built on a short-lived thread at idle priority, whose priority the
        threads it starts inherit, while the Python thread that uses it keeps normal priority."""
        model = model or self.opts.model
        if model not in self._twins:
            def build() -> Transcriber:
                lower_priority()
                return Transcriber(replace(self.opts, model=model))

            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="twin-model") as builder:
                self._twins[model] = builder.submit(build).result()  # its errors raise here
        return self._twins[model]

    def sibling(self, model: str = "") -> Transcriber:
        """This transcriber if `model` is empty or its own, else one with the same options on `model`
        (the second pass on the same thread, in a `--fast` replay or a bench)."""
        if not model or model == self.opts.model:
            return self
        if model not in self._siblings:
            self._siblings[model] = Transcriber(replace(self.opts, model=model))
        return self._siblings[model]

    def remember(self, utterance: Utterance, text: str) -> None:
        """A final text of this speaker, as context for their next utterance."""
        self.said.add(utterance.speaker, utterance.id, text)

    def reset(self) -> None:
        """Forget every speaker's context and language (a new session or file)."""
        self.said.clear()
        self.levels.clear()
        if self.languages is not None:
            self.languages.clear()

    def language_of(self, utterance: Utterance) -> tuple[str, Detected | None]:
        """The language to decode `utterance` in, and a new `auto` detection to record (else None)."""
        if self.languages is None:
            return self.opts.language, None
        commit = utterance.final and not utterance.speculative
        return self.languages.language(self.model, utterance.speaker, utterance.audio, commit)

    def warm_up(self) -> None:
        """One tiny decode so the first real utterance doesn't pay for lazy initialisation."""
        t = np.linspace(0, 0.5, 8000, dtype=np.float32)
        self._decode(0.05 * np.sin(2 * np.pi * 220 * t))

    def transcribe(self, utterance: Utterance) -> Transcript:
        utterance.timeline.stamp("asr_start")
        context = self.said.prompt(utterance.speaker)
        language, detected = self.language_of(utterance)
        if utterance.speaker != UNKNOWN and self.levels.bleed(utterance.speaker, utterance.audio):
            text, reason = "", "the other side's voice, leaking in"  # a side's own channel only
        else:
            text, reason = self._guarded_text(utterance.audio, context, language=language)
            text = self._without_echo(text, context, utterance.duration)
            reason = reason if text else (reason or "echo of the prompt")
        if utterance.final and not utterance.speculative:
            self.remember(utterance, text)
            if text and utterance.speaker != UNKNOWN:
                self.levels.heard(utterance.speaker, utterance.audio)
        utterance.timeline.stamp("asr_done")
        return Transcript(utterance=utterance, text=text, dropped_reason=reason, detected_language=detected)

    def redecode(self, utterance: Utterance, context: str, beam_size: int, fit_window: bool) -> str:
        """The utterance decoded again with other settings (the second pass), guards included.
        Touches neither the speakers' context nor the utterance's timeline."""
        text, _ = self._guarded_text(utterance.audio, context, beam_size, fit_window, self.language_of(utterance)[0])
        return self._without_echo(text, context, utterance.duration)

    def _without_echo(self, text: str, context: str, seconds: float) -> str:
        if context and text:
            text = drop_prompt_echo(text, context, seconds=seconds)
        if self.opts.hotwords and text:
            text = drop_prompt_echo(text, self.opts.hotwords, seconds=seconds)
        return text

    def _guarded_text(self, audio: np.ndarray, context: str = "", beam_size: int | None = None,
                      fit_window: bool | None = None, language: str | None = None) -> tuple[str, str | None]:
        gates = self.opts.gates
        rms = float(np.sqrt(np.mean(audio * audio))) if len(audio) else 0.0
        if rms < 10 ** (gates.min_rms_dbfs / 20):
            return "", "too quiet"
        kept, reasons = [], []
        for seg in self._decode(audio, context, beam_size, fit_window, language):
            text = seg.text.strip()
            if not text:
                continue
            if seg.compression_ratio > gates.compression_ratio_threshold:
                text = collapse_repeats(text)
            if (why := gates.segment_reason(text, seg.no_speech_prob, seg.avg_logprob, language)) is not None:
                reasons.append(why)
                continue
            kept.append(text)
        text = collapse_repeats(" ".join(kept))
        return text, (None if text else (", ".join(sorted(set(reasons))) or "no speech"))

    def _decode(self, audio: np.ndarray, context: str = "", beam_size: int | None = None,
                fit_window: bool | None = None, language: str | None = None):
        beam_size = beam_size or self.opts.beam_size
        language = language or (self.opts.language if self.languages is None else "en")
        fit = self.opts.fit_window if fit_window is None else fit_window
        if fit and len(audio) / SAMPLE_RATE + self.opts.window_pad_s < 29.0:
            decoded = self._decode_fitted(audio, context, beam_size, language)
            # In a short window Whisper often says the utterance, then starts it again: keep the first time.
            decoded.text = cut_repeat(decoded.text)
            if decoded.compression_ratio <= self.opts.gates.compression_ratio_threshold and not has_loop(decoded.text):
                return [decoded]
            # a loop: fall back to the standard path with its temperature fallback
        return self._decode_standard(audio, context, beam_size, language)

    def _decode_fitted(self, audio: np.ndarray, context: str = "", beam_size: int = 1,
                       language: str = "en") -> "Decoded":
        """Greedy decoding without timestamps over a window that fits the utterance."""
        import ctranslate2
        from faster_whisper.transcribe import (
            get_compression_ratio,
            get_suppressed_tokens,
        )

        model = self.model
        window = max(len(audio) / SAMPLE_RATE + self.opts.window_pad_s, self.opts.min_window_s)
        padded = np.zeros(int(window * SAMPLE_RATE), np.float32)
        padded[: len(audio)] = audio
        features = model.feature_extractor(padded, padding=0)
        frames = features.shape[-1] - (features.shape[-1] % 2)
        features = np.ascontiguousarray(features[None, :, :frames])
        encoder_output = model.model.encode(ctranslate2.StorageView.from_array(features))
        tokenizer = self._tokenizer(language)
        previous = tokenizer.encode(" " + context.strip()) if context.strip() else []
        prompt = model.get_prompt(tokenizer, previous, without_timestamps=True, hotwords=self.opts.hotwords or None)
        max_new = int(6 * len(audio) / SAMPLE_RATE) + 12  # speech is < 5 tokens/s: more is a loop
        result = model.model.generate(
            encoder_output,
            [prompt],
            beam_size=beam_size,
            # Measured with CTranslate2 4.8: greedy Whisper decoding stops after about max_length / 2
            # new tokens (max_length=120 gave 49 of a 49-token answer, 85 cut it at 42), hence the 2.
            max_length=min(model.max_length, 2 * (len(prompt) + max_new)),
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=get_suppressed_tokens(tokenizer, [-1]),
        )[0]
        tokens = result.sequences_ids[0]
        text = tokenizer.decode(tokens).strip()
        avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1)
        return Decoded(text, result.no_speech_prob, avg_logprob, get_compression_ratio(text) if text else 0.0)

    def _tokenizer(self, language: str):
        key = language if self.model.model.is_multilingual else None
        if key not in self._toks:
            from faster_whisper.tokenizer import Tokenizer

            self._toks[key] = Tokenizer(self.model.hf_tokenizer, self.model.model.is_multilingual,
                                        task="transcribe", language=key)
        return self._toks[key]

    def _decode_standard(self, audio: np.ndarray, context: str = "", beam_size: int = 1, language: str = "en"):
        try:
            segments, _info = self.model.transcribe(
                audio,
                language=language,
                beam_size=beam_size,
                condition_on_previous_text=False,
                initial_prompt=context or None,
                hotwords=self.opts.hotwords or None,
                without_timestamps=True,
                vad_filter=False,
                temperature=(0.0, 0.4, 0.8),
                compression_ratio_threshold=self.opts.gates.compression_ratio_threshold,
                log_prob_threshold=self.opts.gates.log_prob_threshold,
                no_speech_threshold=self.opts.gates.no_speech_threshold,
            )
            return list(segments)
        except RuntimeError as exc:
            raise S2QError(f"transcription failed: {exc}") from None


def default_cpu_threads() -> int:
    """Half the cores, at least one: the other half is for the second pass, the voice model and the
    embedder. CTranslate2's own default (4) oversubscribed a 2-core machine: there, one thread
    decoded a 10 s utterance greedily in 0.47 s against 0.55 s with two and 0.58 s with four, and the
    paced demo's end of speech -> final went from p50 811 / 597 ms to 675 / 429 ms (two runs each,
    `benchmarks/results/paced-threads/`)."""
    return max(1, (os.cpu_count() or 2) // 2)


def lower_priority() -> bool:
    """This thread, and the threads it starts from now on, run only when a CPU would otherwise
    idle (Linux SCHED_IDLE). False where there is no such policy (normal priority then)."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        return True
    except (AttributeError, OSError):
        return False


@dataclass
class Decoded:
    """The parts of a faster-whisper Segment the guards look at."""

    text: str
    no_speech_prob: float
    avg_logprob: float
    compression_ratio: float
