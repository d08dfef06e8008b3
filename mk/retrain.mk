# Clinic staff keep the assistant current (docs/retraining.md). Code: retrain/.
#   make faq-list                                  FAQs, example counts, answers (FULL=1: whole answers;
#                                                  FAQ=out_of_scope: the questions of one FAQ or label)
#   make faq-examples FAQ=exercise_after           teach an FAQ more questions (FILE=one-per-line.txt, TEST=1)
#   make faq-add                                   a new FAQ: name, answer, example questions
#   make faq-move TO=what_to_wear                  give existing questions to another FAQ (FILE=...)
#   make faq-undo                                  take back the last of these changes
#   make questions-export [SINCE=2026-11-01]       unanswered patient questions -> CSV (OUT=file.csv)
#   make questions-import CSV=results/questions-2026-11-24.csv
#   make retrain                                   check, train, compare, promote or refuse
#   make rollback                                  put back the model the last retrain replaced (again:
#                                                  one further back); the running assistant loads it
#   make bench-retrain                             time `make retrain` end to end on a copy
# Included by the main Makefile (-include mk/*.mk), which defines BIN and install.
.PHONY: retrain-help faq-list faq-examples faq-add faq-move faq-undo questions-export \
	questions-import retrain rollback bench-retrain

RETRAIN := $(BIN)/python -m retrain
TOLERANCE ?= 0.03
KEY_QUESTIONS ?= 2
# Intents or FAQs that may not get worse at all, e.g. STRICT=emergency
STRICT ?=

retrain-help:
	@sed -n '2,13s/^# \{0,1\}//p' mk/retrain.mk

faq-list: install
	@$(RETRAIN) list $(if $(FULL),--full) $(if $(FAQ),--faq "$(FAQ)")

faq-examples: install
	@$(RETRAIN) add-examples $(if $(FAQ),--faq "$(FAQ)") $(if $(FILE),--file "$(FILE)") $(if $(TEST),--test)

faq-add: install
	@$(RETRAIN) add-faq

faq-move: install
	@$(RETRAIN) move $(if $(TO),--to "$(TO)") $(if $(FILE),--file "$(FILE)")

faq-undo: install
	@$(RETRAIN) undo

questions-export: install
	@$(RETRAIN) export-questions $(if $(SINCE),--since "$(SINCE)") $(if $(OUT),--out "$(OUT)")

questions-import: install
	@test -n "$(CSV)" || { echo "Say which file: make questions-import CSV=results/questions-....csv" >&2; exit 2; }
	@$(RETRAIN) import-questions "$(CSV)"

# Never depends on `train`: that would overwrite the current model before the comparison.
retrain: install
	@$(RETRAIN) retrain --tolerance $(TOLERANCE) --key-questions $(KEY_QUESTIONS) \
	  $(foreach label,$(STRICT),--strict $(label))

rollback: install
	@$(RETRAIN) rollback

bench-retrain: install
	@$(BIN)/python -m retrain.bench
