# `make bench-nlu`: the NLU pipeline (config.yml, unchanged) trained and scored on
# HINT3 v1 beside the published platforms, plus the trained model's held-out scores,
# Rasa's 3-fold cross-validation on data/ and the single-threaded parse time.
# Then `make bench-dev`: the assistant on real patients' questions and whole
# conversations (bench/devset.py, bench/data/), which fails when a target is not met.
# Code: bench/hint3.py. Results: bench/results/ (commit them as the record).
#   make bench-nlu HINT3_DIR=/path/to/hint3
#   make bench-nlu BENCH_ARGS="--datasets sofmattress --variants full --skip-cv"
# Included by the main Makefile (-include mk/*.mk), which defines BIN and train.
.PHONY: bench-nlu bench-dev

BENCH_ARGS ?=

bench-nlu: train
	$(BIN)/python -m bench.hint3 $(if $(HINT3_DIR),--hint3-dir "$(HINT3_DIR)") $(BENCH_ARGS)
	$(BIN)/python -m bench.devset

bench-dev: train
	$(BIN)/python -m bench.devset $(if $(ERRORS),--errors)
