# The clinic console (console/, docs/retraining.md): staff sign in at http://localhost:8080/staff/.
#   make staff-user NAME=anna    create the account `anna`, or reset its password
#                                (asked twice; or one line on standard input, for scripts)
# Accounts are kept in STAFF_DB (.env; default staff.db, git-ignored). There are no default accounts.
# Included by the main Makefile (-include mk/*.mk), which defines BIN and install.
.PHONY: staff-user

staff-user: install
	@test -n "$(NAME)" || { echo "Say whose account: make staff-user NAME=<name>" >&2; exit 2; }
	@$(BIN)/python -m console.users -- '$(subst ','\'',$(NAME))'
