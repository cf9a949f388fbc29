#!/usr/bin/env bash
# Breaks one thing at a time and runs the tests that should notice (issue 16's "done when").
# Usage: tools/mutation_check.sh   (from the repository root, with .venv built; restores every file)
set -u
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
run() {  # name, file, python-regex, replacement, tests...
  local name=$1 file=$2 from=$3 to=$4; shift 4
  cp "$file" /tmp/mutation.bak
  $PY - "$file" "$from" "$to" <<'PYEOF'
import re, sys
path, old, new = sys.argv[1:4]
text = open(path).read()
changed, n = re.subn(old, new, text, count=1)
assert n == 1, f"mutation did not apply to {path}"
open(path, "w").write(changed)
PYEOF
  if HF_HUB_OFFLINE=1 $PY -m pytest -q -x -p no:cacheprovider "$@" > /tmp/mutation.log 2>&1; then
    echo "NOT CAUGHT  $name"
  else
    echo "caught      $name by $(grep -m1 -oE '^FAILED [^ ]+' /tmp/mutation.log | cut -c8-)"
  fi
  cp /tmp/mutation.bak "$file"
}
run "red-flag threshold 0.66 -> 0.99" pipeline/question_bank/ml-engineer/role.yaml 'red_flag: 0\.66' 'red_flag: 0.99' \
    tests/test_run_stage.py tests/test_demo_e2e.py
run "speaker mapping (channels swapped)" pipeline/audio/sources.py 'enumerate\(self\.speakers\)' \
    'enumerate(reversed(self.speakers))' tests/test_cli_replay.py -k stereo
run "record flush (lines kept in memory until close)" pipeline/sinks/__init__.py \
    'data = data\[os\.write\(self\._fd, data\):\]' 'data = b""' tests/test_cli_replay.py -k "sigkill or ctrl_c"
run "report section (compliance) dropped" pipeline/report/render.py '        _compliance\(session\),\n' '' \
    tests/test_report.py tests/test_demo_e2e.py -k "report or compliance"
run "consent reminder not shown" pipeline/session/listen.py 'announce\(CONSENT_REMINDER\)' 'pass' \
    tests/test_listen.py -k "captures_the_demo"
