# The verbs of this project. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(abspath $(VENV)/bin)
STAMP := $(VENV)/.installed
GENERATED := pik_generated_client

# The generator runs the ruff from our own environment (pinned in pyproject.toml and the lock),
# never whatever ruff happens to be on PATH.
# One shell line (joined by `&& \`): check-generated calls it inside a shell block whose
# variables, such as its temporary folder, must reach every command.
define generate_into
rm -rf $(1) && \
	PATH="$(BIN):$$PATH" $(BIN)/openapi-python-client generate \
		--path openapi.yaml --config generator-config.yml \
		--custom-template-path templates \
		--meta none --fail-on-warning --output-path $(1) >/dev/null && \
	: > $(1)/py.typed
endef

.PHONY: help install lock generate check-generated lint test demo clean

help: ## List the verbs
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

install: $(STAMP) ## Create .venv with everything pinned in requirements.lock (fast when nothing changed)

$(STAMP): requirements.lock pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

lock: $(VENV)/bin/uv ## Re-resolve requirements.lock from pyproject.toml
	$(VENV)/bin/uv pip compile pyproject.toml --all-extras --python-version 3.11 \
		--no-header --quiet -o requirements.lock

$(VENV)/bin/uv:
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet uv

generate: $(STAMP) ## Regenerate pik_generated_client/ from openapi.yaml, generator-config.yml and templates/
	@$(call generate_into,$(GENERATED))

check-generated: $(STAMP) ## Fail with a diff when pik_generated_client/ is not what generation gives
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(call generate_into,$$tmp/$(GENERATED)) || exit 1; \
	if diff -ru --exclude=__pycache__ $(GENERATED) $$tmp/$(GENERATED); then \
		echo "pik_generated_client/ is in sync with openapi.yaml, generator-config.yml and templates/"; \
	else \
		echo "pik_generated_client/ is stale or hand-edited: run 'make generate' and commit the result" >&2; \
		exit 1; \
	fi

lint: $(STAMP) ## ruff, mypy --strict and OpenAPI validation
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict $(GENERATED) tests scripts
	$(BIN)/openapi-spec-validator openapi.yaml

test: $(STAMP) check-generated lint ## Everything CI runs
	$(BIN)/python -m pytest

demo: $(STAMP) ## Show the generated client at work
	$(BIN)/python scripts/demo.py

clean: ## Remove caches and build output (keeps .venv)
	rm -rf build reports .pytest_cache .mypy_cache .ruff_cache
	find . -name __pycache__ -not -path './.venv/*' -prune -exec rm -rf {} +

.PHONY: bench
bench: $(STAMP) ## Print benchmark figures and write them to reports/bench.md
	@mkdir -p reports
	@$(BIN)/python benchmarks/client_overhead.py | tee reports/bench.md
