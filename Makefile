# The single entry point: `make run` to chat over HTTP, `make test` to check everything.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(VENV)/bin
RASA := $(BIN)/rasa
MODEL := models/dry-needling.tar.gz
SPACY_MODEL := .spacy/en_clinic
ENCODER := .minilm/all-MiniLM-L6-v2.tflite
NLU_INPUTS := config.yml domain.yml $(wildcard data/*.yml) $(wildcard components/*.py) $(wildcard core/*.py)
export TF_CPP_MIN_LOG_LEVEL ?= 2
export HF_HUB_OFFLINE := 1
export RASA_TELEMETRY_ENABLED := false
export TRANSFORMERS_OFFLINE := 1

# Targets of their own concern (bench-nlu, web, retrain, ...). A fragment may add
# prerequisites of `make test` to TEST_DEPS.
TEST_DEPS :=
-include mk/*.mk

.PHONY: help install train validate run shell test lint clean

help:
	@echo "make run       set up, train if needed, serve at http://localhost:5005/webhooks/rest/webhook"
	@echo "make shell     set up, train if needed, chat in the terminal"
	@echo "make test      set up, train if needed, run the whole test suite"
	@echo "make train     train the model (only when data or config changed)"
	@echo "make validate  check the training data and domain"
	@echo "make bench     serving speed against stock rasa run (bench/serving.py)"

install: $(VENV)/.installed $(SPACY_MODEL)/meta.json $(ENCODER)

$(VENV)/.installed: requirements.txt
	@[ -x $(BIN)/python ] || { py=$$(scripts/find_python310.sh) && \
	  echo "Creating $(VENV) with $$py" && "$$py" -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade "pip==24.0"
	$(BIN)/python -m pip install --quiet --no-deps -r requirements.txt
	@touch $@

$(SPACY_MODEL)/meta.json: $(VENV)/.installed scripts/build_spacy_pipeline.py
	$(BIN)/python scripts/build_spacy_pipeline.py $(SPACY_MODEL)

# The sentence encoder as TensorFlow Lite, converted from the installed package.
$(ENCODER): $(VENV)/.installed scripts/build_encoder.py
	$(BIN)/python scripts/build_encoder.py $(ENCODER)

train: $(MODEL)

$(MODEL): $(NLU_INPUTS) | install
	$(RASA) train --fixed-model-name dry-needling --out models
	@touch $@

validate: install
	$(RASA) data validate --fail-on-warnings

run: train
	@exec scripts/run.sh

shell: train
	@exec scripts/run.sh shell

lint: install
	$(BIN)/ruff check core actions components scripts tests bench web console retrain channels stores
	$(BIN)/lint-imports

test: train validate lint $(TEST_DEPS)
	$(BIN)/python -m pytest tests

clean:
	rm -rf models .rasa results
