"""Audio files to float32 16 kHz, streamed: memory stays flat however long the file is.

`AudioFile` checks a file up front (so a bad path fails before any model
loads) and `blocks()` decodes and resamples it frame by frame with PyAV: a
2-hour interview never sits in memory whole. `decode_file` collects the
stream for callers that want the whole file (the benchmark). Every fault is an
`AudioDecodeError` of one readable line.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Iterator

import numpy as np

from pipeline.audio import SAMPLE_RATE
from pipeline.errors import AudioDecodeError, S2QError

LAYOUTS = {1: "mono", 2: "stereo"}  # speakers -> what the file is resampled to


class AudioFile:
    """An opened, checked audio file; `blocks()` streams it as float32 (n_channels, samples)."""

    def __init__(self, path: str | Path, n_channels: int = 1) -> None:
        self.path = path = Path(path)
        if n_channels not in LAYOUTS:
            raise S2QError(f"can map 1 or 2 channels to speakers, not {n_channels}")
        self.n_channels = n_channels
        _check_regular_file(path)
        try:
            _check_not_truncated(path)
        except OSError as exc:
            raise AudioDecodeError(f"{path}: cannot read ({_reason(exc)})") from None
        import av  # PyAV, which faster-whisper already depends on

        self._av = av
        try:
            container = av.open(str(path))
        except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
            raise AudioDecodeError(f"{path}: not a readable audio file ({_reason(exc)})") from None
        with container:
            streams = container.streams.audio
            if not streams:
                raise AudioDecodeError(f"{path}: contains no audio stream")
            # PyAV raises AttributeError for a stream whose header declares no channel layout.
            self.channels = int(getattr(streams[0].codec_context, "channels", 0) or 0)
            if self.channels < 1:
                raise AudioDecodeError(f"{path}: the audio stream declares no channels (a damaged header)")
            self.declared = _declared_seconds(container, streams[0])
        if n_channels == 2 and self.channels != 2:
            need = "a stereo file" if self.channels < 2 else "exactly 2 (one per speaker); use one name to mix them"
            raise AudioDecodeError(f"{path}: has {self.channels} channel(s); two --channels names need {need}")

    def blocks(self) -> Iterator[np.ndarray]:
        """Decoded, resampled blocks in order; raises AudioDecodeError on damage, truncation or no audio."""
        av, path = self._av, self.path
        decoded = 0
        try:
            container = av.open(str(path))
        except (av.error.FFmpegError, OSError) as exc:
            raise AudioDecodeError(f"{path}: not a readable audio file ({_reason(exc)})") from None
        with container:
            resampler = av.AudioResampler(format="fltp", layout=LAYOUTS[self.n_channels], rate=SAMPLE_RATE)
            try:
                for frame in container.decode(container.streams.audio[0]):
                    if self.channels > 2:  # one speaker (two need exactly two channels)
                        frame = _averaged(av, frame)
                    for block in self._arrays(resampler.resample(frame)):
                        decoded += block.shape[1]
                        yield block
                for block in self._arrays(resampler.resample(None)):
                    decoded += block.shape[1]
                    yield block
            except (av.error.FFmpegError, OSError) as exc:
                raise AudioDecodeError(f"{path}: audio data is damaged ({_reason(exc)})") from None
        if not decoded:
            raise AudioDecodeError(f"{path}: no audio could be decoded (empty or damaged)")
        seconds = decoded / SAMPLE_RATE
        if self.declared and seconds < 0.9 * self.declared - 0.5:
            raise AudioDecodeError(
                f"{path}: file is truncated (decoded {seconds:.1f} s of {self.declared:.1f} s declared)"
            )


    @staticmethod
    def _arrays(frames) -> Iterator[np.ndarray]:
        for out in frames:
            yield out.to_ndarray().astype(np.float32, copy=False)


# Full scale of each sample format's integers (and offset for unsigned 8-bit).
_SCALE = {"u8": (128.0, 128.0), "s16": (32768.0, 0.0), "s32": (2147483648.0, 0.0), "s64": (2.0**63, 0.0),
          "flt": (1.0, 0.0), "dbl": (1.0, 0.0)}


def _averaged(av, frame):
    """A many-channel frame as the mean of its channels, in mono.

    FFmpeg's own downmix adds channels up (8 channels of a loud signal reached
    3.1, far past full scale), and PyAV's resampler crashes on layouts it has no
    name for ("8 channels"): the mean is exact and cannot clip.
    """
    name = frame.format.name.rstrip("p")
    scale, offset = _SCALE.get(name, (1.0, 0.0))
    data = frame.to_ndarray().astype(np.float64)
    channels = len(frame.layout.channels)
    if not frame.format.is_planar:  # interleaved: (1, samples * channels)
        data = data.reshape(-1, channels).T
    mono = ((data - offset) / scale).mean(axis=0, keepdims=True).astype(np.float32)
    out = av.AudioFrame.from_ndarray(mono, format="fltp", layout="mono")
    out.sample_rate = frame.sample_rate
    out.pts, out.time_base = frame.pts, frame.time_base
    return out


def decode_file(path: str | Path, n_channels: int = 1) -> np.ndarray:
    """The whole file as float32 (n_channels, samples) at 16 kHz: downmixed with 1, left/right with 2."""
    return np.concatenate(list(AudioFile(path, n_channels).blocks()), axis=1)


def _check_regular_file(path: Path) -> None:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise AudioDecodeError(f"{path}: no such file") from None
    except OSError as exc:
        raise AudioDecodeError(f"{path}: cannot read ({_reason(exc)})") from None
    if stat.S_ISDIR(info.st_mode):
        raise AudioDecodeError(f"{path}: is a directory, not an audio file")
    if not stat.S_ISREG(info.st_mode):
        raise AudioDecodeError(f"{path}: not a regular file (a device, pipe or socket cannot be replayed: "
                               "save the audio to a file first)")
    if info.st_size == 0:
        raise AudioDecodeError(f"{path}: file is empty")
    if not os.access(path, os.R_OK):
        raise AudioDecodeError(f"{path}: cannot read (permission denied)")


def _check_not_truncated(path: Path) -> None:
    """FFmpeg quietly decodes what is there; a cut-off WAV or Ogg file should be an error instead."""
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(12)
        if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
            offset = 12
            while offset + 8 <= size:
                f.seek(offset)
                chunk_id, chunk_size = f.read(4), int.from_bytes(f.read(4), "little")
                if chunk_id == b"data":
                    if offset + 8 + chunk_size > size and chunk_size not in (0, 0xFFFFFFFF):  # 0/-1: streamed
                        raise AudioDecodeError(
                            f"{path}: file is truncated (header promises {chunk_size} bytes of audio, "
                            f"{size - offset - 8} present)"
                        )
                    return
                offset += 8 + chunk_size + (chunk_size & 1)
        elif head[:4] == b"OggS":
            f.seek(max(0, size - 65536))
            tail = f.read()
            last = tail.rfind(b"OggS")
            if last < 0 or len(tail) < last + 27 or not tail[last + 5] & 0x04:
                raise AudioDecodeError(f"{path}: file is truncated (the Ogg stream has no end)")
            segments = tail[last + 26]
            table = tail[last + 27 : last + 27 + segments]
            if len(table) < segments or len(tail) < last + 27 + segments + sum(table):
                raise AudioDecodeError(f"{path}: file is truncated (the last Ogg page is cut off)")


def _declared_seconds(container, stream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000
    return None


def _reason(exc: Exception) -> str:
    return getattr(exc, "strerror", None) or str(exc).split(":")[0] or type(exc).__name__
