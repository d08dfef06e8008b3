# Robustness, faults and privacy (SECURITY.md). Code: channels/, scripts/purge_conversations.py,
# bench/soak.py. Tests: tests/test_robustness.py, tests/test_faults.py, tests/test_privacy.py.
#   make purge                  delete conversations older than RETENTION_DAYS (.env)
#   make purge DAYS=7 DRY_RUN=1 count what a 7-day retention would delete, delete nothing
#   make forget SENDER=<id>     delete one patient's conversation, every session of it (on request)
#   make soak                   50 concurrent conversations, 10,000 messages on loopback (not in `make test`)
#   make soak SOAK_ARGS="--conversations 10 --messages 1000"
# Included by the main Makefile (-include mk/*.mk), which defines BIN, install and train.
.PHONY: purge forget soak

SOAK_ARGS ?=

purge: install
	@. scripts/env.sh && $(BIN)/python -m scripts.purge_conversations \
	  $(if $(DAYS),--days "$(DAYS)") $(if $(DRY_RUN),--dry-run)

# The id goes through the environment, never through the shell.
forget: export FORGET_SENDER = $(SENDER)
forget: install
	@. scripts/env.sh && $(BIN)/python -m scripts.purge_conversations --forget $(if $(DRY_RUN),--dry-run)

soak: train
	$(BIN)/python -m bench.soak $(SOAK_ARGS)
