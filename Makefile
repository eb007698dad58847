# Echo: every command a developer or CI needs. `make up` and `make test` are the two that matter.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PY313 := $(shell for p in "$$(command -v python3.13)" /root/.pyenv/versions/3.13*/bin/python3.13 /usr/bin/python3.13; do \
	[ -n "$$p" ] && "$$p" -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null && { echo "$$p"; break; }; done)
VENV := .venv
PY := $(VENV)/bin/python
UV := .echo/uv/bin/uv
NODE_BIN := $(CURDIR)/node_modules/.bin
export PATH := $(NODE_BIN):$(CURDIR)/$(VENV)/bin:$(PATH)
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export CDK_DISABLE_CLI_TELEMETRY := true
export UV_CACHE_DIR := $(CURDIR)/.echo/uv-cache
PYTEST := $(PY) -m pytest -p no:cacheprovider

.PHONY: help deps lock up down deploy synth lint format test test-unit test-integration test-infra \
	test-plugin test-e2e browser bench invoke logs mail clean model test-quality

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-17s %s\n", $$1, $$2}'

.echo/deps.stamp: pyproject.toml uv.lock package.json package-lock.json
	@[ -n "$(PY313)" ] || { echo "python3.13 not found"; exit 1; }
	@mkdir -p .echo/logs
	@[ -x $(UV) ] || { $(PY313) -m venv .echo/uv && .echo/uv/bin/pip install -q uv==0.13.9; }
	@echo "  … python deps (uv sync --locked)"; $(UV) sync --locked --python $(PY313) -q
	@echo "  … npm tools (npm ci)"; npm ci --no-audit --no-fund --loglevel=error > .echo/logs/npm.log 2>&1 \
		|| { cat .echo/logs/npm.log; exit 1; }
	@touch $@

deps: .echo/deps.stamp .echo/ml/model/build.json ## install the project venv (uv.lock), the pinned npm tools, the model

.echo/ml/model/build.json: layers/ml/build_model.py .echo/deps.stamp
	@$(PY) layers/ml/build_model.py && touch $@

model: .echo/deps.stamp ## (re)build the embedding model into .echo/ml/model if its inputs changed
	@$(PY) layers/ml/build_model.py

lock: ## re-resolve uv.lock and the per-bundle requirement locks
	$(UV) lock --python $(PY313)
	$(PY) stacks/lock_bundles.py

up: deps ## install + start LocalStack, deploy the stack, seed the demo tenant, print URLs
	@$(PY) localstack/up.py up

down: ## stop what `make up` started
	@$(PY313) localstack/manage.py stop

deploy: deps ## redeploy the stack to the running LocalStack and rewrite .echo/stack.json
	@$(PY) localstack/up.py deploy

synth: deps ## synthesize prod offline, run cdk-nag (in synth) and cfn-lint on every stage's template
	@rm -rf .echo/synth
	@for stage in prod local; do \
		cdk synth -q --no-notices -c stage=$$stage -o .echo/synth/$$stage > .echo/logs/synth-$$stage.log 2>&1 \
			|| { cat .echo/logs/synth-$$stage.log; exit 1; }; \
		echo "  ✓ synth $$stage (cdk-nag clean)"; done
	@$(VENV)/bin/cfn-lint .echo/synth/*/Echo-*.template.json && echo "  ✓ cfn-lint"

lint: deps ## ruff, ruff format --check, mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy stacks functions layers app.py

format: deps ## apply ruff fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test-unit: deps ## pure logic with in-memory fakes
	$(PYTEST) tests/unit -q -n 2

test-integration: deps ## handlers against moto (mock_aws)
	$(PYTEST) tests/integration -q -n 2

test-infra: deps ## assertion tests on the synthesized templates, real bundles in a bare runtime
	@$(PY313) localstack/manage.py install
	$(PYTEST) tests/infrastructure -q

test-plugin: deps ## the LocalStack plugin's own unit tests (in LocalStack's venv)
	@$(PY313) localstack/manage.py install
	@$(PY313) localstack/manage.py test

browser: ## Debian's Chromium for the browser e2e tests (idempotent; installs with apt-get as root)
	@command -v chromium >/dev/null 2>&1 || { \
		[ "$$(id -u)" = 0 ] || { echo "chromium is missing: apt-get install chromium (as root)"; exit 1; }; \
		mkdir -p .echo/logs; echo "  … chromium (apt-get)"; \
		{ DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends chromium; } > .echo/logs/chromium.log 2>&1 \
			|| { cat .echo/logs/chromium.log; exit 1; }; }

test-quality: deps ## SciFact nDCG@10 / recall@10 of BM25, dense and hybrid through Echo's index (floor enforced)
	$(PYTEST) tests/quality -q

test-e2e: up browser ## the deployed stack on LocalStack (browser tests drive Debian's Chromium)
	@mkdir -p .echo/logs; $(PYTEST) tests/e2e -q -m "e2e and clock" > .echo/logs/e2e-clock.log 2>&1 & clock=$$!; \
		$(PYTEST) tests/e2e -q -m "e2e and not clock"; rest=$$?; wait $$clock; waited=$$?; \
		echo "  … the clock tests, run beside:"; cat .echo/logs/e2e-clock.log; exit $$(( rest || waited ))

# The quality tier (CPU: embedding, on one core) runs beside the e2e tier (mostly waiting on LocalStack).
test: lint test-unit test-integration test-plugin test-infra synth ## everything CI runs, e2e and retrieval quality included
	@ECHO_QUALITY_THREADS=1 $(MAKE) --no-print-directory -j2 --output-sync=target test-quality test-e2e

bench: up ## benchmarks (SECTIONS="authz audit_throughput" for some); writes .echo/bench/results.json, docs/benchmarks.md
	PYTHONPATH=layers/shared:layers/documents:layers/ml:functions $(PY) -m tests.bench $(SECTIONS)

invoke: deps ## invoke a deployed function: make invoke FN=audit_ingest EVENT=events/audit_ingest.sqs.json
	@$(PY) localstack/tools.py invoke "$(FN)" "$(EVENT)"

logs: deps ## follow a deployed function's logs: make logs FN=audit_ingest
	@$(PY) localstack/tools.py logs "$(FN)"

mail: deps ## the local mail outbox (email-verification links): moved into .echo/mail/ and printed
	@$(PY) localstack/tools.py mail

clean: down ## stop LocalStack and remove local state (keeps the venvs)
	rm -rf .echo/localstack/state .echo/stack.json .echo/synth cdk.out
