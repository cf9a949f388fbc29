"""Where audio comes from: a file replayed (paced or fast) or a live input device.

Every source yields `AudioChunk`s: float32 mono 16 kHz samples for one speaker,
stamped with their audio time. A stereo file can map channels to speakers.
"""

from __future__ import annotations

import queue
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Protocol, Sequence

import numpy as np

from pipeline.audio import SAMPLE_RATE
from pipeline.audio.decode import AudioFile, decode_file  # noqa: F401  (decode_file: re-exported)
from pipeline.errors import DeviceError
from pipeline.events import UNKNOWN


@dataclass
class AudioChunk:
    speaker: str
    samples: np.ndarray  # float32 mono, SAMPLE_RATE
    start: float  # audio time (s) of the first sample

    @property
    def end(self) -> float:
        return self.start + len(self.samples) / SAMPLE_RATE


class AudioSource(Protocol):
    """Anything that yields `AudioChunk`s and can be asked to stop (its iteration then ends).

    `speakers`: the speaker of each channel it yields; `unknown` is a mixed source.
    """

    speakers: list[str]

    def __iter__(self) -> Iterator[AudioChunk]: ...

    def stop(self) -> None: ...


class FileSource:
    """Replays a file as a microphone would deliver it (`realtime=True`) or as fast as read.

    `speed` > 1 stands for a live source faster than real time (to test keeping up).

    `speakers` names the speaker of each channel: one name (downmix) or two
    (left, right). Audio time is exact in both modes.
    """

    def __init__(
        self,
        path: str | Path,
        speakers: Sequence[str] = (UNKNOWN,),
        realtime: bool = True,
        chunk_ms: int = 30,
        speed: float = 1.0,
    ) -> None:
        self.path = Path(path)
        self.speed = speed  # with realtime: deliver this many times faster than real time
        self.speakers = list(speakers)
        self.realtime = realtime
        self.chunk = SAMPLE_RATE * chunk_ms // 1000
        self.file = AudioFile(self.path, n_channels=len(self.speakers))  # checked now, decoded while replayed
        self._samples: int | None = None
        self._stopped = False

    def stop(self) -> None:
        self._stopped = True

    @property
    def duration(self) -> float:
        """Exact once replayed; before that, what the file declares."""
        if self._samples is not None:
            return self._samples / SAMPLE_RATE
        return self.file.declared or 0.0

    def __iter__(self) -> Iterator[AudioChunk]:
        t0 = time.monotonic()
        offset = 0
        for chunk in _rechunk(self.file.blocks(), self.chunk):
            if self._stopped:
                return
            start = offset / SAMPLE_RATE
            if self.realtime:
                # Deliver a chunk only once it "has been spoken", like a microphone.
                due = t0 + (offset + self.chunk) / SAMPLE_RATE / self.speed
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            for channel, speaker in enumerate(self.speakers):
                yield AudioChunk(speaker, chunk[channel], start)
            offset += chunk.shape[1]
        self._samples = offset


def _rechunk(blocks: Iterator[np.ndarray], size: int) -> Iterator[np.ndarray]:
    """Decoder blocks of any length -> blocks of exactly `size` samples (the last may be shorter)."""
    pending: list[np.ndarray] = []
    held = 0
    for block in blocks:
        pending.append(block)
        held += block.shape[1]
        if held < size:
            continue
        joined = np.concatenate(pending, axis=1)
        cut = held - held % size
        for i in range(0, cut, size):
            yield joined[:, i : i + size]
        pending = [joined[:, cut:]] if cut < held else []
        held -= cut
    if held:
        yield np.concatenate(pending, axis=1)


def list_input_devices() -> list[dict]:
    """Input devices PortAudio sees, with a guess at which ones carry call audio."""
    sd = _import_sounddevice()
    devices = []
    for index, dev in enumerate(sd.query_devices()):
        if dev["max_input_channels"] <= 0:
            continue
        name = dev["name"]
        lowered = name.lower()
        loopback = any(k in lowered for k in ("monitor", "loopback", "blackhole", "stereo mix", "what u hear"))
        devices.append(
            {
                "index": index,
                "name": name,
                "channels": dev["max_input_channels"],
                "default_samplerate": dev["default_samplerate"],
                "loopback": loopback,
            }
        )
    return devices


def list_pulse_sources() -> list[dict]:
    """PulseAudio/PipeWire sources (Linux), where a call's audio shows up as a `.monitor` source.

    PortAudio reaches them through its `pulse` input, which records the default
    source; `pactl set-default-source NAME` picks which one. Empty without pactl.
    """
    import shutil
    import subprocess

    if not shutil.which("pactl"):
        return []
    try:
        out = subprocess.run(["pactl", "list", "short", "sources"], capture_output=True, text=True, timeout=5)
        default = subprocess.run(["pactl", "get-default-source"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return []
    if out.returncode != 0:
        return []
    sources = []
    for line in out.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) >= 2:
            sources.append({"name": parts[1], "monitor": parts[1].endswith(".monitor"),
                            "default": parts[1] == default.stdout.strip()})
    return sources


def _import_sounddevice():
    try:
        import sounddevice as sd
    except OSError as exc:  # PortAudio library missing
        raise DeviceError(
            f"audio input unavailable: PortAudio not found ({exc}); on Debian/Ubuntu: apt-get install libportaudio2"
        ) from None
    return sd


def resolve_device(spec: str | int | None):
    """An input device from an index or (part of) its name; a clear error if none matches."""
    devices = list_input_devices()
    if not devices:
        raise DeviceError("no audio input device found (run `s2q devices` to list inputs)")
    if spec is None or spec == "":
        sd = _import_sounddevice()
        default = sd.default.device[0]
        if default is None or default < 0:
            return devices[0]["index"]
        return default
    if isinstance(spec, int) or str(spec).isdigit():
        index = int(spec)
        if any(d["index"] == index for d in devices):
            return index
        raise DeviceError(f"no input device with index {index} (run `s2q devices` to list inputs)")
    matches = [d for d in devices if str(spec).lower() in d["name"].lower()]
    exact = [d for d in matches if d["name"].lower() == str(spec).lower()]
    if exact:
        return exact[0]["index"]
    if len(matches) >= 1:
        return matches[0]["index"]
    raise DeviceError(f"no input device matching {spec!r} (run `s2q devices` to list inputs)")


# A live input delivers blocks all the time, silence included: this long without one, the device is gone.
STALL_S = 5.0


class MicrophoneSource:
    """Live capture from an input device through sounddevice (PortAudio).

    `speakers` names the speaker of each channel used: one (the device mixed to
    mono) or two (left, right), as for files. The PortAudio callback never
    blocks: it copies into a bounded queue and counts blocks it had to drop.
    """

    def __init__(self, device: str | int | None, speakers: Sequence[str] = ("interviewer",), block_ms: int = 30,
                 max_queue_s: float = 10.0) -> None:
        self.sd = _import_sounddevice()
        self.device = resolve_device(device)
        self.speakers = list(speakers)
        info = self.sd.query_devices(self.device)
        self.device_name = info["name"]
        if len(self.speakers) > info["max_input_channels"]:
            raise DeviceError(f"input device {self.device_name!r} has {info['max_input_channels']} channel(s), "
                              f"--channels needs {len(self.speakers)}")
        self.rate = int(info["default_samplerate"]) or SAMPLE_RATE
        self.block = self.rate * block_ms // 1000
        self.queue: queue.Queue[np.ndarray] = queue.Queue(maxsize=max(1, int(max_queue_s * 1000 / block_ms)))
        self.dropped_blocks = 0
        self._stopped = False
        self._resamplers = [_Resampler(self.rate) for _ in self.speakers]

    def _callback(self, indata, frames, time_info, status) -> None:  # PortAudio's thread: never block
        try:
            self.queue.put_nowait(indata.copy())
        except queue.Full:
            self.dropped_blocks += 1

    def stop(self) -> None:
        self._stopped = True

    def __iter__(self) -> Iterator[AudioChunk]:
        try:
            stream = self.sd.InputStream(
                device=self.device, channels=len(self.speakers), samplerate=self.rate, blocksize=self.block,
                dtype="float32", callback=self._callback,
            )
        except Exception as exc:  # PortAudioError and friends
            raise DeviceError(f"cannot open input device {self.device_name!r}: {exc}") from None
        position = 0
        stream.start()
        last_block = time.monotonic()
        try:
            while not self._stopped:
                try:
                    block = self.queue.get(timeout=0.5)
                except queue.Empty:
                    if not stream.active or time.monotonic() - last_block > STALL_S:
                        raise DeviceError(f"input device {self.device_name!r} stopped delivering audio "
                                          "(unplugged, or its sound server stopped)") from None
                    continue
                last_block = time.monotonic()
                n = 0
                for channel, (speaker, resample) in enumerate(zip(self.speakers, self._resamplers)):
                    samples = resample(block[:, channel])
                    n = len(samples)
                    if n:
                        yield AudioChunk(speaker, samples, position / SAMPLE_RATE)
                position += n
        finally:
            try:
                stream.close()
            except Exception:  # noqa: BLE001 - a vanished device may fail to close; its audio is already ours
                pass


class _Resampler:
    """Streaming conversion of float32 mono blocks to 16 kHz."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._av = None
        if rate != SAMPLE_RATE:
            import av

            self._av = av
            self._resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)

    def __call__(self, block: np.ndarray) -> np.ndarray:
        if self._av is None:
            return block.astype(np.float32, copy=False)
        frame = self._av.AudioFrame.from_ndarray(block.reshape(1, -1).astype(np.float32), format="flt", layout="mono")
        frame.sample_rate = self.rate
        out = [f.to_ndarray().reshape(-1) for f in self._resampler.resample(frame)]
        return np.concatenate(out) if out else np.zeros(0, np.float32)
