# The commands a fresh machine needs: `make test`, then `make plan STACK=prod`.
SHELL := /bin/bash
UV ?= $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
STACK ?= dev
# Every target that runs a tool depends on `sync`, so the run itself needs no second sync.
RUN := $(UV) run --no-sync

# Tools the tests run besides Python: the Jenkinsfile's linter (npm-groovy-lint, pinned in
# tools/groovy-lint, on a Java runtime) and Prometheus' promtool. Installed only when missing.
GROOVY_LINT := tools/groovy-lint/node_modules/.bin/npm-groovy-lint
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
APT_INSTALL := $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends

LOCAL_AWS_PORT ?= 5000
LOCAL_AWS_PID := .local-aws.pid
LOCAL_AWS_LOG := .local-aws.log

.PHONY: test lint typecheck unit plan plan-all generate local-aws local-aws-stop sync tools

sync:
	@command -v $(UV) >/dev/null 2>&1 || python3 -m pip install --user --quiet uv
	$(UV) sync --locked
	@# The project's own modules as bytecode too, as uv compiles the dependencies (compile-bytecode):
	@# where PYTHONDONTWRITEBYTECODE is set, every simulation would compile them again.
	@$(RUN) python -m compileall -q modelplane components policies

lint: sync
	$(RUN) ruff check .
	$(RUN) ruff format --check .

typecheck: sync
	$(RUN) pyright

# Prometheus (with promtool) is the real server the tests of `modelplane compare` on Kubernetes query,
# and promtool checks the PrometheusRule; the Debian package, installed once when missing.
tools: $(GROOVY_LINT)
	@if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then $(APT_INSTALL) prometheus; fi
	@# The model-serving image's tests: Debian's Docker daemon (docker.io; `dockerd`, since another `docker`
	@# client may come first on PATH), mmdebstrap for the test base image, and a registry on loopback.
	@if ! command -v dockerd >/dev/null 2>&1 || ! command -v mmdebstrap >/dev/null 2>&1 \
	  || ! command -v docker-registry >/dev/null 2>&1; then $(APT_INSTALL) docker.io mmdebstrap docker-registry; fi

$(GROOVY_LINT): tools/groovy-lint/package-lock.json
	@command -v java >/dev/null 2>&1 || { $(APT_INSTALL) default-jre-headless; }
	@command -v npm >/dev/null 2>&1 || { $(APT_INSTALL) nodejs npm; }
	npm ci --prefix tools/groovy-lint --no-audit --no-fund --loglevel=error
	@touch $@

# The image tests need a Docker daemon: tools/with-dockerd starts one when none answers, and stops it after.
unit: sync tools
	tools/with-dockerd $(RUN) pytest

test: lint typecheck unit

plan: sync
	$(RUN) modelplane plan --stack $(STACK)

plan-all: sync
	$(RUN) modelplane plan --all

# Files generated from the code (tests fail while any is stale).
generate: sync
	$(RUN) python -m modelplane.schema
	$(RUN) python -m modelplane.component_schema
	$(RUN) python -m modelplane.component_docs
	$(RUN) python -m modelplane.iam_catalogue
	$(RUN) python -m modelplane.policy_docs
	$(RUN) python -m modelplane.pack_requirements

# moto's server on loopback only, in the background; `pulumi up -s local` and `modelplane verify` talk to it.
local-aws: sync
	@if [ -f $(LOCAL_AWS_PID) ] && kill -0 "$$(cat $(LOCAL_AWS_PID))" 2>/dev/null; then \
	  echo "The local AWS emulator already runs (pid $$(cat $(LOCAL_AWS_PID))). Stop it with: make local-aws-stop"; exit 0; \
	fi; \
	python="$$($(RUN) python -c 'import sys; print(sys.executable)')"; \
	port_open() { "$$python" -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2)' $(LOCAL_AWS_PORT) 2>/dev/null; }; \
	if port_open; then echo "Port $(LOCAL_AWS_PORT) is in use; pick another: make local-aws LOCAL_AWS_PORT=5001" >&2; exit 1; fi; \
	nohup "$$python" -m moto.server -H 127.0.0.1 -p $(LOCAL_AWS_PORT) </dev/null >$(LOCAL_AWS_LOG) 2>&1 & echo $$! >$(LOCAL_AWS_PID); \
	for _ in $$(seq 100); do \
	  if ! kill -0 "$$(cat $(LOCAL_AWS_PID))" 2>/dev/null; then \
	    echo "moto_server exited; its log ($(LOCAL_AWS_LOG)):" >&2; cat $(LOCAL_AWS_LOG) >&2; rm -f $(LOCAL_AWS_PID); exit 1; \
	  fi; \
	  port_open && break; sleep 0.2; \
	done; \
	port_open || { echo "moto_server did not answer on port $(LOCAL_AWS_PORT); see $(LOCAL_AWS_LOG)" >&2; exit 1; }; \
	echo "Local AWS emulator (moto) on http://127.0.0.1:$(LOCAL_AWS_PORT), pid $$(cat $(LOCAL_AWS_PID)), log $(LOCAL_AWS_LOG)."; \
	echo "Stop it with: make local-aws-stop"

local-aws-stop:
	@if [ -f $(LOCAL_AWS_PID) ] && kill "$$(cat $(LOCAL_AWS_PID))" 2>/dev/null; then \
	  echo "Stopped the local AWS emulator (pid $$(cat $(LOCAL_AWS_PID)))."; \
	else \
	  echo "No local AWS emulator was running."; \
	fi; \
	rm -f $(LOCAL_AWS_PID)
