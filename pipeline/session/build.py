"""The one way to build the engine: every caller (listen, replay, batch, the benches) names a mode,
and the engine's options are worked out here from the session config, so a bench measures the
pipeline the user runs."""

from __future__ import annotations

import sys
from typing import Literal, Sequence

from pipeline.audio.language import mismatch
from pipeline.audio.sources import AudioSource
from pipeline.audio.transcriber import Transcriber
from pipeline.audio.voice_split import build_voice_splitter
from pipeline.engine import Engine, EngineOptions
from pipeline.errors import S2QError
from pipeline.events import UNKNOWN
from pipeline.models import resolve_model
from pipeline.session.config import SessionConfig

Mode = Literal["live", "paced", "fast"]
"""How audio arrives and who waits for it:
  live:  devices (`s2q listen`); never waits for the transcriber, sheds under load.
  paced: a file at its own pace (`s2q replay`, the paced benches); as live.
  fast:  a file as fast as the transcriber goes (`s2q replay --fast`, `s2q batch`, an archive):
         waits instead of shedding, so nothing is lost (see `EngineOptions.backpressure`), and
         decodes for accuracy, not latency: every final again with beam search, whole, with the
         speaker's context (`SecondPassOptions.for_archive`)."""
MODES: tuple[Mode, ...] = ("live", "paced", "fast")


def engine_options(config: SessionConfig, mode: Mode) -> EngineOptions:
    """The engine's options for a session in this mode: the only place they are assembled."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    archive = mode == "fast"
    return EngineOptions(backpressure=archive, partial_every_s=config.partial_every_s, segmenter=config.segmenter,
                         end_of_turn=config.end_of_turn,
                         second_pass=config.second_pass.for_archive() if archive else config.second_pass)


def engine_for(config: SessionConfig, mode: Mode, sources: Sequence[AudioSource], transcriber,
               step=None, voices=None) -> Engine:
    """The engine over loaded models: `step` the interview step (None: transcript only), `voices`
    a voice labeler for a mixed source (None: the step names speakers from their words)."""
    labeler, splitter = step, None
    if voices is not None:
        labeler, splitter = voices, build_voice_splitter(voices)
    return Engine(sources, transcriber, steps=[step] if step else [], options=engine_options(config, mode),
                  labeler=labeler, splitter=splitter)


def build_engine(sources: Sequence[AudioSource], config: SessionConfig, mode: Mode) -> Engine:
    """Loads the bank, its index, the voice model (mixed sources) and Whisper, in that order: a
    bank error costs no model load.

    A mixed source (a channel named `unknown`) gets the voice labeler, which tells voices apart
    (`speaker-1`, `speaker-2`...) and names them with the interview step's text evidence; without
    advice there is no evidence to name them by, so they stay `speaker-N`.
    """
    from pipeline.interview import build_interview_step  # lazy: keeps pydantic off start-up

    step = build_interview_step(config.role, config.bank_root) if config.advise else None
    if step is not None and (note := mismatch(step.bank.role.id, step.bank.role.language,
                                               config.transcriber.language)):
        print(f"s2q: note: {note}", file=sys.stderr)
    mixed = any(speaker == UNKNOWN for source in sources for speaker in source.speakers)
    voices = voice_labeler(step) if mixed else None
    transcriber = Transcriber(config.transcriber)
    transcriber.warm_up()
    if config.second_pass.enabled and config.second_pass.model:
        resolve_model(config.second_pass.model, "whisper")  # a missing model is a clear error now, not later
    return engine_for(config, mode, sources, transcriber, step, voices)


def voice_labeler(step):
    """Voices clustered and named (on in the default install; `step` None: told apart, never named);
    None without the voice graph (after a note): speakers then come from what they say alone."""
    try:
        from pipeline.interview.speakers import build_voice_labeler  # lazy: keeps pydantic off start-up

        return build_voice_labeler(step)
    except (ImportError, S2QError) as exc:
        reason = f"{exc.name} is not installed" if isinstance(exc, ImportError) else str(exc)
        print(f"s2q: note: speakers of a mixed source come from what they say only ({reason}; "
              "`s2q doctor` says how to turn voices on)", file=sys.stderr)
        return None
