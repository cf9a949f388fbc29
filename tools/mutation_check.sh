#!/usr/bin/env bash
# Breaks one thing at a time and runs the tests that should notice (issue 16's "done when").
# Usage: tools/mutation_check.sh   (from the repository root, with .venv built; restores every file)
#        ONLY='^(panel|ray):' tools/mutation_check.sh   runs only the mutations whose name matches
set -u
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
BAK=$(mktemp) LOG=$(mktemp)  # this run's own: two runs at once (other checkouts) do not restore each other's files
trap 'rm -f "$BAK" "$LOG"' EXIT
run() {  # name, file, python-regex, replacement, tests...
  local name=$1 file=$2 from=$3 to=$4; shift 4
  if [[ -n "${ONLY:-}" && ! "$name" =~ $ONLY ]]; then return; fi
  cp "$file" "$BAK"
  if ! $PY - "$file" "$from" "$to" 2>/dev/null <<'PYEOF'
import re, sys
path, old, new = sys.argv[1:4]
text = open(path).read()
changed, n = re.subn(old, new, text, count=1)
assert n == 1, f"mutation did not apply to {path}"
open(path, "w").write(changed)
PYEOF
  then
    echo "NOT APPLIED $name (the code it breaks has changed: update its pattern)"
    return
  fi
  if HF_HUB_OFFLINE=1 $PY -m pytest -q -x -p no:cacheprovider "$@" > "$LOG" 2>&1; then
    echo "NOT CAUGHT  $name"
  else
    echo "caught      $name by $(grep -m1 -oE '^(FAILED|ERROR) [^ ]+' "$LOG" | sed -E 's/^[A-Z]+ //')"
  fi
  cp "$BAK" "$file"
}
run "red-flag threshold 0.75 -> 0.99" pipeline/question_bank/ml-engineer/role.yaml 'red_flag: 0\.75' 'red_flag: 0.99' \
    tests/test_run_step.py tests/test_demo_e2e.py
run "speaker mapping (channels swapped)" pipeline/audio/sources.py 'enumerate\(self\.speakers\)' \
    'enumerate(reversed(self.speakers))' tests/test_cli_replay.py -k stereo
run "record flush (lines kept in memory until close)" pipeline/sinks/__init__.py \
    'data = data\[os\.write\(self\._fd, data\):\]' 'data = b""' tests/test_cli_replay.py -k "sigkill or ctrl_c"
run "report section (compliance) dropped" pipeline/report/render.py '        _compliance\(session\),\n' '' \
    tests/test_report.py tests/test_demo_e2e.py -k "report or compliance"
run "consent reminder not shown" pipeline/session/listen.py 'announce\(CONSENT_REMINDER\)' 'pass' \
    tests/test_listen.py -k "captures_the_demo"
# Issue 28: one break per promise that had no test.
run "privacy: serve opens a socket to another host" pipeline/sinks/web/serve.py \
    '    sessions = SessionFolder\(' '    __import__("socket").socket(2, 2).connect(("192.0.2.1", 9))\n    sessions = SessionFolder(' \
    tests/test_privacy.py -k serve
run "privacy: a local Ray cluster left on its defaults (8.8.8.8, metadata probes)" pipeline/batch/cluster.py \
    '    if local:  #' '    if False:  #' tests/test_privacy.py -k ray
run "view: the compliance alert crashes the live view" pipeline/sinks/terminal.py \
    'Ask instead: \{event\.alternative\}' 'Ask instead: {event.alternatives}' tests/test_terminal_view.py
run "panel: no Content-Security-Policy" pipeline/sinks/web/app.py '"content-security-policy": PAGE_CSP, ' '' \
    tests/test_web_headers.py
run "panel: a POST accepted on the cookie alone" pipeline/sinks/web/app.py 'if scope\["method"\] != "POST":' \
    'if True:' tests/test_web_headers.py -k post
run "retention: a WAV written without --save-audio" pipeline/session/listen.py '    if config\.save_audio:' \
    '    if True:' tests/test_privacy.py -k listen
run "retention: the consent reminder shown despite --no-consent-reminder" pipeline/session/listen.py \
    '    if config\.consent_reminder:' '    if True:' tests/test_privacy.py -k listen
run "retention: --exit-when-done ignored" pipeline/session/web.py 'if not self\.options\.exit_when_done:' \
    'if True:' tests/test_privacy.py -k web
run "ray: actors rebuild the index (none packed)" pipeline/batch/cluster.py \
    '        files\.update\(\{f"index/' '        ({f"index/' tests/test_batch_cluster.py
run "ray: actors look for the index in their own cache" pipeline/batch/cluster.py \
    'index_cache=self\.root / "index"' 'index_cache=None' tests/test_batch_cluster.py
run "ray: actors leave their folder behind" pipeline/batch/cluster.py \
    '        shutil\.rmtree\(self\.root, ignore_errors=True\)' '        pass' tests/test_batch_cluster.py
run "quality: the ML red-flag threshold a little higher (0.75 -> 0.78)" pipeline/question_bank/ml-engineer/role.yaml \
    'red_flag: 0\.75' 'red_flag: 0.78' tests/test_heldout_matcher.py
run "quality: the backend red-flag threshold higher (0.75 -> 0.80)" pipeline/question_bank/backend-engineer/role.yaml \
    'red_flag: 0\.75' 'red_flag: 0.80' tests/test_heldout_matcher.py
run "quality: utterances cut every 3 s (16 of 604 demo words wrong, inside the old 5%)" pipeline/audio/segmenter.py \
    'max_utterance_s: float = 25\.0' 'max_utterance_s: float = 3.0' tests/test_demo_e2e.py -k word_errors
run "ray: the driver starts a cluster of its own instead of joining RAY_ADDRESS's" pipeline/batch/cluster.py \
    'ray\.init\(address=None if address == "auto" else address,' 'ray.init(address="local",' \
    tests/test_batch_cluster.py -k running_cluster
run "memory: every utterance's audio kept" pipeline/memory.py 'keep_audio: int = 8' 'keep_audio: int = 10**6' \
    tests/test_memory.py -k flat
