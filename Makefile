# HireProof: `make demo` runs the main job locally, `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CHECKOV_VENV := .checkov-venv
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

.PHONY: demo test serve bench lint unit workflow browser static checkov page clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[local,dev]"
	$(PY) -m pip install --quiet --no-deps face_recognition==1.3.0
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m hireproof.demo

serve: $(STAMP)
	$(PY) -m hireproof.local serve

test: $(STAMP) lint unit workflow browser

lint: $(STAMP) static
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

# Template and state machine checks. cfn-lint runs twice: on the SAM template, and on
# its CloudFormation translation, which alone shows dependency cycles and the values
# that cfn-lint's SAM schema leaves unchecked (environment variables).
static: $(STAMP) $(CHECKOV_STAMP)
	$(PY) scripts/check_asl.py
	$(VENV)/bin/cfn-lint template.yaml
	scripts/checkov.sh template.yaml build/template.cfn.json
	$(VENV)/bin/cfn-lint build/template.cfn.json

checkov: $(CHECKOV_STAMP)
	scripts/checkov.sh template.yaml build/template.cfn.json

# checkov and aws-sam-translator pin boto3 and pydantic to other versions than the
# project's, so they live in a virtualenv of their own.
$(CHECKOV_STAMP): scripts/checkov-requirements.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r scripts/checkov-requirements.txt
	$(CHECKOV_VENV)/bin/python -m pip check --disable-pip-version-check
	touch $(CHECKOV_STAMP)

# Unit tests run with sockets disabled, two workers (pytest-xdist) for the two cores CI has.
unit: $(STAMP) $(CHECKOV_STAMP)
	$(PY) -m pytest tests/unit tests/static -q -n 2 --disable-socket --allow-unix-socket

workflow: $(STAMP)
	$(PY) -m pytest tests/workflow -q

# The browser tests skip themselves, naming the Debian packages, when Chromium is missing.
browser: $(STAMP)
	$(PY) -m pytest tests/browser -q -rs

# Amplify UI's FaceLivenessDetector for the verification page (the rekognition engine), built
# with npm into layers/common/hireproof/web/static/liveness/. Run it before `sam build`.
# No other target needs it: without the bundle the page says the live face check is unavailable.
page:
	cd web/liveness && npm ci && npm run build

bench: $(STAMP)
	mkdir -p build
	$(PY) benchmarks/run.py

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache
