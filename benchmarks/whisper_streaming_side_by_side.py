#!/usr/bin/env python3
"""s2q's streaming path and ufal's whisper_streaming (kept outside this repository) on the same audio.

    python benchmarks/whisper_streaming_side_by_side.py [--source DIR] [--sets demo,radio_speech]

See benchmarks/streaming_compare.py for what is measured and how.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.streaming_compare import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
