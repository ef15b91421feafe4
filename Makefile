# The commands a fresh machine needs: `make test`, then `make plan STACK=prod`.
SHELL := /bin/bash
UV ?= $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
STACK ?= dev
RUN := $(UV) run --locked

.PHONY: test lint typecheck unit plan plan-all schema local-aws sync

sync:
	@command -v $(UV) >/dev/null 2>&1 || python3 -m pip install --user --quiet uv
	$(UV) sync --locked

lint: sync
	$(RUN) ruff check .
	$(RUN) ruff format --check .

typecheck: sync
	$(RUN) pyright

unit: sync
	$(RUN) pytest

test: lint typecheck unit

plan: sync
	$(RUN) modelplane plan --stack $(STACK)

plan-all: sync
	$(RUN) modelplane plan --all

schema: sync
	$(RUN) python -m modelplane.schema
