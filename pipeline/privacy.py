"""Nothing leaves the machine: switches off what the libraries we load would send home.

ONNX Runtime 1.29+ ships 1DS telemetry on Linux and macOS: its native code
writes a device id under the cache home and uploads events to
mobile.events.data.microsoft.com (DNS look-ups, proxy CONNECTs), and
`onnxruntime.disable_telemetry_events()` comes too late to stop the process
event sent when its environment is created. Only `ORT_DISABLE_TELEMETRY=1`,
set before onnxruntime initialises, stops all of it; later ORT versions read
`ORT_TELEMETRY_DISABLED`. Applied on `import pipeline`, so before any of our
modules (or faster-whisper's) can import onnxruntime.
`tests/test_privacy.py` checks it under strace.
"""

from __future__ import annotations

import os

NO_TELEMETRY_ENV = {
    "ORT_DISABLE_TELEMETRY": "1",  # ONNX Runtime (native 1DS uploader)
    "ORT_TELEMETRY_DISABLED": "1",  # its later name for the same switch
    "HF_HUB_DISABLE_TELEMETRY": "1",  # huggingface_hub, in case anything reaches it
    "DO_NOT_TRACK": "1",
}
# Run time is offline: libraries that could reach a model hub must not try.
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def apply() -> None:
    """Forced, not defaulted: the privacy promise does not depend on the user's environment."""
    os.environ.update(NO_TELEMETRY_ENV)
    os.environ.update(OFFLINE_ENV)
