"""`s2q devices`: the inputs a user can pass to --mic, --call or --input, call-audio ones marked."""

from __future__ import annotations

import sys

from pipeline.audio.sources import list_input_devices, list_pulse_sources


def handle_devices(args) -> int:
    devices = list_input_devices()
    if not devices:
        print("s2q: error: no audio input devices found (see README: getting the call's audio)", file=sys.stderr)
        return 1
    print("Inputs (use the index or name with --mic, --call or --input):")
    for d in devices:
        mark = "  <- loopback/monitor: call audio" if d["loopback"] else ""
        print(f"{d['index']:>3}  {d['name']}  [{d['channels']} ch, {d['default_samplerate']:.0f} Hz]{mark}")
    sources = list_pulse_sources()
    if sources:
        print("\nPulseAudio/PipeWire sources, recorded by the `pulse` input "
              "(choose with: pactl set-default-source NAME):")
        for src in sources:
            mark = "  <- monitor: call audio" if src["monitor"] else ""
            print(f"     {'*' if src['default'] else ' '} {src['name']}{mark}")
    return 0
