# `make bench`: serving speed of the assistant as `make run` serves it (Sanic workers, shared
# SQLite lock store, one TensorFlow thread per worker) against stock `rasa run`, same model:
# 1, 8 and 32 concurrent patients, start-up, memory, and full `rasa train` time; then the
# cost of a message late in a long conversation (60 messages) against early in it.
# Code: bench/serving.py, bench/long_conversation.py. Results: bench/results/serving.json,
# long_conversation.json (commit them as the record).
#   make bench BENCH_SERVING_ARGS="--levels 32 --skip-train"
# Included by the main Makefile (-include mk/*.mk), which defines BIN and train.
.PHONY: bench

BENCH_SERVING_ARGS ?=

bench: train web-deps
	@status=0; $(BIN)/python -m bench.serving $(BENCH_SERVING_ARGS) || status=$$?; \
	  $(BIN)/python -m bench.long_conversation || status=1; exit $$status
