"""Audio in: sources (file, microphone), the VAD segmenter and the Whisper transcriber."""

SAMPLE_RATE = 16000
