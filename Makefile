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

.PHONY: help install lock generate check-generated lint test demo dist test-install clean

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

lint: $(STAMP) lint-spec ## ruff, mypy --strict, OpenAPI validation and the spec linters
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict $(GENERATED) templates/runtime pik_sandbox tests scripts benchmarks
	$(BIN)/openapi-spec-validator openapi.yaml

test: $(STAMP) /usr/bin/chromium /usr/bin/wrk check-generated lint lint-spec check-breaking ## Everything CI runs
	$(BIN)/python -m pytest

# The checkout page's browser tests drive Debian's Chromium.
/usr/bin/chromium:
	@if [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else \
		echo "The browser tests need Debian's Chromium: sudo apt-get install chromium" >&2; exit 1; \
	fi

# wrk (Debian's package) loads the servers in the benchmarks, and in their smoke run in `test`.
/usr/bin/wrk:
	@if [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; \
	else \
		echo "The benchmarks need Debian's wrk: sudo apt-get install wrk" >&2; exit 1; \
	fi

demo: $(STAMP) ## Show the generated client at work
	$(BIN)/python scripts/demo.py

# The sdist first, then the wheel built from it: a file the sdist lacks fails the build here.
dist: $(STAMP) ## Build the sdist and the wheel into dist/
	rm -rf dist
	$(BIN)/uv build --quiet --python $(BIN)/python --out-dir dist
	@ls -1 dist

test-install: $(STAMP) ## Install the built wheel into fresh virtual environments, with and without the sandbox extra (part of make test)
	$(BIN)/python -m pytest tests/install -q

clean: ## Remove caches and build output (keeps .venv)
	rm -rf build dist reports .pytest_cache .mypy_cache .ruff_cache
	find . -name __pycache__ -not -path './.venv/*' -prune -exec rm -rf {} +

.PHONY: bench
# Prism, the peer, comes from node_modules. `make test` runs every benchmark in its smoke mode.
bench: $(STAMP) node-modules /usr/bin/wrk ## Print benchmark figures and write them to reports/bench.md
	$(BIN)/python -m benchmarks.run_all

.PHONY: contract contract-deep
contract: $(STAMP) ## Schemathesis CLI, every check and phase, against a sandbox on a free port (JUnit in reports/)
	$(BIN)/python scripts/run_contract.py --max-examples 30

contract-deep: $(STAMP) ## The same with many more examples, for a nightly run
	$(BIN)/python scripts/run_contract.py --max-examples 500

# ---------------------------------------------------------------------------------------------
# The spec for every language: lint, HTML reference, breaking-change guard, portability.
# Node tools are pinned in package-lock.json and installed by `npm ci` into node_modules/.
# ---------------------------------------------------------------------------------------------
NODE_BIN := node_modules/.bin
NODE_STAMP := node_modules/.installed
# Redocly CLI reports usage to Redocly unless told not to, and so does the HTML it builds.
REDOCLY := REDOCLY_TELEMETRY=off $(NODE_BIN)/redocly
DOCS := build/docs/index.html
# The last released contract: the highest version under spec/baseline/.
SPEC_BASELINE ?= $(shell ls spec/baseline/openapi-*.yaml 2>/dev/null | sort -V | tail -n 1)
# The document check-breaking judges; the guard's own tests point it at altered copies.
CHECK_SPEC ?= openapi.yaml

.PHONY: node-modules lint-spec docs check-breaking check-portability

node-modules: $(NODE_STAMP) ## Install the Node tools pinned in package-lock.json (fast when nothing changed)

# --ignore-scripts: none of the tools needs an install script, and some dependencies' scripts
# only report downloads.
$(NODE_STAMP): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	touch $(NODE_STAMP)

lint-spec: $(NODE_STAMP) ## Spectral (spectral:oas, all rules) and Redocly (recommended): any finding fails
	$(NODE_BIN)/spectral lint openapi.yaml --ruleset .spectral.yaml --fail-severity=hint
	$(REDOCLY) lint openapi.yaml --format=stylish
	@# Redocly's exit code counts errors only; warnings and ignored findings must fail too.
	$(REDOCLY) lint openapi.yaml --format=json 2>/dev/null | node spec/redocly_zero_findings.mjs

docs: $(NODE_STAMP) ## Self-contained, offline HTML reference of the API in build/docs/index.html
	@mkdir -p $(dir $(DOCS))
	$(REDOCLY) build-docs openapi.yaml --inlineBundle --title "PIK Payment Links API" -o $(DOCS)
	@if grep -Eq '<script[^>]*[[:space:]]src=|<link[^>]*[[:space:]]href=' $(DOCS); then \
		echo "$(DOCS) loads a script or stylesheet from elsewhere; it must be self-contained" >&2; \
		exit 1; \
	fi

check-breaking: $(NODE_STAMP) ## Fail on a breaking change since the last released spec unless info.version's major rose
	@test -n "$(SPEC_BASELINE)" || { echo "no released spec under spec/baseline/" >&2; exit 1; }
	node spec/check_breaking.mjs $(SPEC_BASELINE) $(CHECK_SPEC)

check-portability: $(STAMP) $(NODE_STAMP) ## Generate TypeScript types and a Java client from the spec and compile them
	$(BIN)/python -m pytest tests/portability -q

# ---------------------------------------------------------------------------------------------
# The local sandbox: `pik-sandbox` with its defaults (./data/sandbox.sqlite3, rate limits on,
# a demo key printed at start-up). Stop it with Ctrl+C.
# ---------------------------------------------------------------------------------------------
.PHONY: sandbox

sandbox: $(STAMP) ## Run the local PIK sandbox on http://127.0.0.1:8000 (docs at /docs)
	$(BIN)/pik-sandbox
