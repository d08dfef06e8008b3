# `make cluster`: the production layout on one machine (docs/deploy.md): PostgreSQL, Redis,
# two Rasa servers and nginx in front on RASA_PORT, supervised (scripts/cluster.sh,
# deploy/). Its data stays in CLUSTER_DIR (.cluster/) until `make cluster-clean`.
#   make cluster          install what is missing, start it in the background, wait until ready
#   make cluster-stop     stop it (the conversations stay in CLUSTER_DIR)
#   make cluster-clean    stop it and delete CLUSTER_DIR (its conversations too)
#   make cluster-deps     install nginx and Redis from Debian's packages, when missing
#   make test-cluster     the cluster under load with one Rasa server killed (tests/test_cluster.py)
# Included by the main Makefile (-include mk/*.mk), which defines BIN, install and train.
.PHONY: cluster cluster-stop cluster-clean cluster-deps test-cluster


cluster-deps:
	@missing=; command -v nginx >/dev/null || missing="$$missing nginx"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	[ -z "$$missing" ] && exit 0; \
	echo "Installing Debian's$$missing for make cluster"; \
	if [ "$$(id -u)" = 0 ]; then sudo=; elif command -v sudo >/dev/null; then sudo=sudo; else \
	  echo "error: missing$$missing; as root run: apt-get install$$missing" >&2; exit 1; fi; \
	$$sudo apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing \
	  || { echo "error: could not install$$missing (apt-get install$$missing)" >&2; exit 1; }

cluster: train web-deps cluster-deps
	@scripts/cluster.sh start

cluster-stop: install
	@scripts/cluster.sh stop

cluster-clean: install
	@scripts/cluster.sh clean

test-cluster: train web-deps cluster-deps
	$(BIN)/python -m pytest tests/test_cluster.py
	@echo "The load test's figures (build/test-cluster.json):" && cat build/test-cluster.json

TEST_DEPS += cluster-deps
