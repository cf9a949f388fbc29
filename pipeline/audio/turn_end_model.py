"""A learned end of turn: Smart Turn v3.2 hears the end of a pause and says whether the turn is over.

Text rules (pipeline/audio/end_of_turn.py) need a transcript and English words; Smart Turn
(pipecat's open model, BSD-2-Clause, a Whisper-tiny encoder and a small head, int8 ONNX) hears
intonation and pace in the last 8 s of audio, in 23 languages including Italian, and answers the
probability that the speaker has finished. The segmenter asks it after a short pause: complete
ends the turn at once, incomplete keeps listening up to the hangover. The file is taken out of
the `pipecat-ai` wheel at build time (`make install`, tools/fetch_turn_end_model.py) with the
sha256 pinned in pipeline/assets/manifest.toml; none of pipecat's code or dependencies is used.
When the file is missing, `load_turn_end_model` returns None and the text rules decide.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.audio.log_mel import fit_window, log_mel
from pipeline.errors import S2QError

ASSETS = Path(__file__).resolve().parents[1] / "assets"
MANIFEST_NAME = "smart-turn-v3.2"  # its entry under [turn_end] in pipeline/assets/manifest.toml


def manifest_entry() -> dict:
    """What the manifest pins for the model: file (under assets/), sha256, bytes, wheel, member, licence."""
    from pipeline.models import load_manifest

    return load_manifest()["turn_end"][MANIFEST_NAME]


def bundled_path() -> Path:
    return ASSETS / manifest_entry()["file"]


@dataclass
class TurnEndModelOptions:
    """How the end-of-turn model is asked.

    Attributes:
      path: the ONNX file; empty: the one `make install` puts under pipeline/assets/turn_end/.
      threshold: a probability above this is a finished turn (the model's own cut, 0.5).
      ask_after_ms: the pause after which the model is asked (pipecat asks after a 200 ms VAD stop).
      hold_ms: when the model says the turn goes on and its text is unfinished too ("and then"),
        it ends only after this much silence, or the segmenter's hangover if longer (0: the
        hangover), so a sentence paused longer than the hangover stays one turn
        (benchmarks/results/turn_end/).
      window_s: the model hears the last this many seconds of the turn (it was trained on 8).
      threads: ONNX Runtime threads; one, as the model shares the CPU with Whisper.
    """

    path: str = ""
    threshold: float = 0.5
    ask_after_ms: int = 200
    hold_ms: int = 1000
    window_s: float = 8.0
    threads: int = 1


class TurnEndModel:
    """The last `window_s` of a turn in, the probability that it is finished out.

    The segmenter's turn-end judge (`pipeline.audio.segmenter.TurnJudge`): a call says whether the
    turn is over; `last_ms` is what the last call cost (features and model)."""

    def __init__(self, path: Path, options: TurnEndModelOptions | None = None) -> None:
        import onnxruntime as ort

        self.opts = options or TurnEndModelOptions()
        self.path = path
        session_options = ort.SessionOptions()
        session_options.intra_op_num_threads = self.opts.threads
        session_options.inter_op_num_threads = 1
        session_options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(path), session_options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime's own error types
            raise S2QError(f"{path}: cannot load the end-of-turn model ({str(exc).splitlines()[0]}); "
                           "run `make install` again") from None
        self.input_name = self.session.get_inputs()[0].name
        self.last_ms = 0.0

    @property
    def pause_ms(self) -> int:
        return self.opts.ask_after_ms

    @property
    def hold_ms(self) -> int:
        return self.opts.hold_ms

    @property
    def window_s(self) -> float:
        return self.opts.window_s

    def probability(self, audio: np.ndarray) -> float:
        """Probability that the turn whose audio ends here is finished (16 kHz mono float32)."""
        features = log_mel(fit_window(audio, self.opts.window_s))[None]
        return float(np.asarray(self.session.run(None, {self.input_name: features})[0]).reshape(-1)[0])

    def __call__(self, audio: np.ndarray) -> bool:
        started = time.perf_counter()
        done = self.probability(audio) > self.opts.threshold
        self.last_ms = (time.perf_counter() - started) * 1000
        return done


_LOADED: dict[tuple, TurnEndModel] = {}  # one session per file and options in a process (engines share it)


def load_turn_end_model(options: TurnEndModelOptions | None = None) -> TurnEndModel | None:
    """The model, or None when its file is not there (a checkout before `make install`): the caller
    falls back to the text rules. A file that is there but will not load is an error. Loaded once
    per process (about 0.2 s); ONNX Runtime sessions may be run from several threads."""
    opts = options or TurnEndModelOptions()
    path = Path(opts.path).expanduser() if opts.path else bundled_path()
    if not path.is_file():
        return None
    key = (str(path.resolve()), *vars(opts).values())
    if key not in _LOADED:
        _LOADED[key] = TurnEndModel(path, opts)
    return _LOADED[key]
