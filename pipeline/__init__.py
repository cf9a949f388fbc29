"""speech-to-question: an offline interview listener.

Audio flows one way: source -> segmenter -> transcriber -> matcher -> advisor -> sinks.
Each step lives in its own module and talks to the next through typed events
(see `pipeline.events`).
"""

__version__ = "0.1.0"

from pipeline import privacy as _privacy

_privacy.apply()  # before anything can import onnxruntime
