# Two commands a newcomer needs: `make demo` and `make test`. Both are idempotent.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install sysdeps demo demo-web test bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	bash tools/install-system-deps.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first: the pinned CPU build; other versions pull several GB.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test]'
	$(BIN)/pip install --quiet --no-deps resemblyzer==0.1.4  # only its voice weights; it would pull torch and librosa
	touch $(STAMP)

sysdeps:
	bash tools/install-system-deps.sh

demo: install
	$(BIN)/s2q replay pipeline/demo/interview.ogg --channels interviewer,candidate

demo-web: install
	$(BIN)/s2q replay pipeline/demo/interview.ogg --channels interviewer,candidate --web

test: install
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q

bench: install
	$(BIN)/s2q bench

clean:
	rm -rf $(VENV) build *.egg-info
