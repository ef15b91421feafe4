# The commands a fresh machine needs: `make test`, then `make plan STACK=prod`.
SHELL := /bin/bash
# The interpreter of the project's environment: the distribution's python3 (3.11 or newer) by default.
PYTHON ?= python3
# uv at the version uv.lock pins, installed by `make sync` into .tools/uv (a venv of $(PYTHON), from PyPI
# with pip and the lock's hashes): nothing on PATH to change, no `pip install --user` (PEP 668 refuses it
# on Debian 12 and Ubuntu 23.04+). The lock pins uv as a dev dependency, so `.venv/bin/uv` (what Pulumi's
# `toolchain: uv` runs after `. .venv/bin/activate`) is the same version. `make UV=/path/to/uv` uses another.
TOOLS_UV := .tools/uv/bin/uv
UV ?= $(TOOLS_UV)
STACK ?= dev
# Every target that runs a tool depends on `sync`, so the run itself needs no second sync.
RUN := $(UV) run --no-sync

# Tools the tests run besides Python: the Jenkinsfile's linter (npm-groovy-lint, pinned in
# tools/groovy-lint, on a Java runtime) and Prometheus' promtool. Installed only when missing.
GROOVY_LINT := tools/groovy-lint/node_modules/.bin/npm-groovy-lint
# Checkov scans the rendered Kubernetes manifests; its pins (packaging<24) conflict with pulumi's, so it lives in
# a virtualenv of its own, from tools/checkov/requirements.txt (hash-checked; `uv pip compile --generate-hashes`).
CHECKOV := .tools/checkov/bin/checkov
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
APT_INSTALL := $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends

LOCAL_AWS_PORT ?= 5000
LOCAL_AWS_PID := .local-aws.pid
LOCAL_AWS_LOG := .local-aws.log

.PHONY: test lint typecheck unit bootstrap-test plan plan-all generate local-aws local-aws-stop sync tools

# Bytecode is compiled here, once per sync, and not by every `uv run` (uv compiles the whole environment
# on each sync it does when `compile-bytecode` is set in pyproject.toml). The project's own modules too:
# where PYTHONDONTWRITEBYTECODE is set, every simulation would compile them again.
sync: $(filter $(TOOLS_UV),$(UV))
	$(UV) sync --locked --python $(PYTHON) --compile-bytecode
	@$(RUN) python -m compileall -q modelplane components policies

# Reinstalled only when uv's pin in uv.lock changes (.tools/uv/requirement.txt records what is installed).
# A distribution's python3 may lack ensurepip (Debian and Ubuntu ship it in python3.X-venv, for the
# python3.X that python3 is): installed with apt-get then, as the tools of `make tools` are.
$(TOOLS_UV): uv.lock tools/uv_requirement.py
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
	  echo "make sync: $(PYTHON) is $$($(PYTHON) --version 2>&1); the project needs Python 3.11 or newer: make sync PYTHON=python3.12" >&2; exit 1; }
	@mkdir -p .tools && $(PYTHON) tools/uv_requirement.py >.tools/uv-requirement.txt
	@if ! cmp -s .tools/uv-requirement.txt .tools/uv/requirement.txt || ! $@ --version >/dev/null 2>&1; then \
	  if ! $(PYTHON) -c 'import ensurepip' 2>/dev/null; then \
	    venv_package="$$($(PYTHON) -c 'import sys; print("python%d.%d-venv" % sys.version_info[:2])')"; \
	    command -v apt-get >/dev/null 2>&1 || { echo "make sync: $(PYTHON) has no ensurepip (venv with pip); install $$venv_package or your distribution's equivalent" >&2; exit 1; }; \
	    $(APT_INSTALL) "$$venv_package" || exit 1; \
	  fi; \
	  rm -rf .tools/uv && $(PYTHON) -m venv .tools/uv && \
	  .tools/uv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes --only-binary :all: --no-deps \
	    --requirement .tools/uv-requirement.txt && \
	  cp .tools/uv-requirement.txt .tools/uv/requirement.txt || exit 1; \
	fi
	@touch $@

# `make test` syncs once, then runs its targets in a second make told so (SYNCED=1), which syncs no more.
SYNCED ?=
ENVIRONMENT := $(if $(SYNCED),,sync)

lint: $(ENVIRONMENT)
	$(RUN) ruff check .
	$(RUN) ruff format --check .

# --project: the settings in pyproject.toml, never a pyrightconfig.json of a folder above the clone. At a
# lower priority: run beside the tests (`make test`), it takes the cores they leave idle while they wait
# on servers and containers, and delays them less (110 s instead of 120 for the line; docs/performance.md).
typecheck: $(ENVIRONMENT)
	nice -n 10 $(RUN) pyright --project pyproject.toml

# Prometheus (with promtool) is the real server the tests of `modelplane compare` on Kubernetes query,
# and promtool checks the PrometheusRule; the Debian package, installed once when missing.
tools: $(GROOVY_LINT) $(CHECKOV)
	@if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then $(APT_INSTALL) prometheus; fi
	@# The model-serving image's tests: Debian's Docker daemon (docker.io; `dockerd`, since another `docker`
	@# client may come first on PATH), mmdebstrap for the test base image, and a registry on loopback.
	@if ! command -v dockerd >/dev/null 2>&1 || ! command -v mmdebstrap >/dev/null 2>&1 \
	  || ! command -v docker-registry >/dev/null 2>&1; then $(APT_INSTALL) docker.io mmdebstrap docker-registry; fi

$(CHECKOV): tools/checkov/requirements.txt $(filter $(TOOLS_UV),$(UV))
	rm -rf .tools/checkov && $(UV) venv --quiet --python $(PYTHON) .tools/checkov
	$(UV) pip install --quiet --python .tools/checkov/bin/python --require-hashes --requirement tools/checkov/requirements.txt
	@touch $@

$(GROOVY_LINT): tools/groovy-lint/package-lock.json
	@command -v java >/dev/null 2>&1 || { $(APT_INSTALL) default-jre-headless; }
	@command -v npm >/dev/null 2>&1 || { $(APT_INSTALL) nodejs npm; }
	npm ci --prefix tools/groovy-lint --no-audit --no-fund --loglevel=error
	@touch $@

# The image tests need a Docker daemon: tools/with-dockerd starts one when none answers, and stops it after.
# pytest-xdist runs a worker per core; `loadscope` keeps a module's tests on one worker, so a module's
# servers and simulations start once. Each worker runs its own moto server (tests/conftest.py). The modules
# are dealt in the order tests/conftest.py collects them (long ones first), not xdist's (most tests first).
PYTEST_WORKERS ?= auto
# pytest keeps each test module as it rewrote it for its asserts in __pycache__, unless PYTHONDONTWRITEBYTECODE
# (set on some machines) forbids it: then every worker rewrites and compiles all of them again (2 CPU-s each).
unit: $(ENVIRONMENT) tools
	env -u PYTHONDONTWRITEBYTECODE tools/with-dockerd $(RUN) pytest -n $(PYTEST_WORKERS) --dist loadscope --no-loadscope-reorder

# Lint, type check and the unit tests run at once (pyright on what the tests leave idle); each target's
# output is printed whole when it ends. Then the bootstrap test.
test: sync tools
	$(MAKE) --no-print-directory -j3 --output-sync=target lint typecheck unit SYNCED=1
	$(MAKE) --no-print-directory bootstrap-test SYNCED=1

# The README's two commands on a stock Debian 12 root filesystem (tests/bootstrap/stock_debian.sh), with
# mmdebstrap from the Debian package; as root (sudo otherwise), lent this machine's apt and uv caches.
bootstrap-test: $(ENVIRONMENT)
	@command -v mmdebstrap >/dev/null 2>&1 || { $(APT_INSTALL) mmdebstrap; }
	$(SUDO) tests/bootstrap/stock_debian.sh "$$($(UV) cache dir)"

plan: sync
	$(RUN) modelplane plan --stack $(STACK)

plan-all: sync
	$(RUN) modelplane plan --all

# Files generated from the code (tests fail while any is stale).
generate: sync
	$(RUN) python -m tools.generate.aws_limits
	$(RUN) python -m tools.generate.settings_schema
	$(RUN) python -m tools.generate.settings_docs
	$(RUN) python -m tools.generate.component_schema
	$(RUN) python -m tools.generate.component_docs
	$(RUN) python -m tools.generate.iam_catalogue
	$(RUN) python -m tools.generate.property_index
	$(RUN) python -m tools.generate.policy_docs
	$(RUN) python -m tools.generate.pack_requirements

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
