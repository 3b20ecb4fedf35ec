# Targets match .ci/run: `make ci` is what CI does after installing.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
EXTRAS ?= aws,gcp,azure,serve,iac,dev

.PHONY: setup emulators demo test test-fast lint format typecheck wheel bench ci clean \
        bundle-aws bundle-gcp bundle-azure bundles

setup: ## create .venv and install the project with every extra (editable)
	@command -v uv >/dev/null || python3 -m pip install --quiet uv
	uv venv --quiet --allow-existing -p 3.11 $(VENV)
	uv pip install --quiet -p $(PY) -e ".[$(EXTRAS)]"

emulators: ## install Azurite (npm) locally; moto and gcp-storage-emulator come with the dev extra
	npm install --no-audit --no-fund --silent --prefix .azurite azurite@3

demo: setup ## run the main job on the embedded default (a local folder as the bucket)
	$(BIN)/fakewatch demo

test: ## the full suite (the README's test command runs this)
	$(BIN)/pytest -n 2 --dist loadgroup -q

test-fast: ## unit tests only
	$(BIN)/pytest -q -m "not integration and not slow and not browser"

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format:
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck:
	$(BIN)/mypy functions providers cost iac/fakewatch_iac

wheel: ## build the wheel and prove every named package installs from it
	rm -rf dist/wheel && $(PY) -m build --wheel --outdir dist/wheel . >/dev/null
	$(PY) tests/tools/check_wheel.py dist/wheel

bench: ## benchmarks; figures land in bench/results/
	$(PY) -m bench

bundle-aws:
	$(PY) -m fakewatch_aws.bundle --out dist/aws

bundle-gcp:
	$(PY) -m fakewatch_gcp.bundle --out dist/gcp

bundle-azure:
	$(PY) -m fakewatch_azure.bundle --out dist/azure

bundles: bundle-aws bundle-gcp bundle-azure

ci: lint typecheck wheel test

clean:
	rm -rf dist build .pytest_cache .mypy_cache .ruff_cache
