#!/usr/bin/env bash
# Installs the Debian packages the TESTS and the benchmark need, only those missing (`make sysdeps`, run by
# `make test`; never by `make install` or `make demo`, which need no system packages and no sudo).
# espeak-ng: test clips; strace: the privacy test (no network attempt); libportaudio2: sounddevice; pulseaudio: the real capture test;
# asterisk-core-sounds-en(-wav): real-speech WER set (benchmarks/realspeech.py): transcript + audio,
# both named since --no-install-recommends would skip the transcript package; codec2-examples: radio-speech WER set.
# festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts: more voices for the spoken-question set (benchmarks/tts.py);
# festvox-italp16k festvox-itapc16k: the Italian interview's second and third voices (benchmarks/italian.py).
# chromium: the web panel's browser tests (Playwright drives it; no browser download).
set -euo pipefail
packages=(espeak-ng libportaudio2 pulseaudio pulseaudio-utils libasound2-plugins sox strace
          asterisk-core-sounds-en asterisk-core-sounds-en-wav codec2-examples chromium
          festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts festvox-italp16k festvox-itapc16k)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "install-system-deps: please install ${missing[*]} with your package manager" >&2
  exit 1
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "Installing system packages: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
