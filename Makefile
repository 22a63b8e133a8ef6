# Harbor Assist: `make run` starts the stack, `make test` runs every suite. Both set up what is
# missing first (system packages, the two Python environments, the trained models).
SHELL := /bin/bash
RASA_ENV := .venv-rasa/bin
APP_ENV := .venv-app/bin
# The per-user cache every clone shares (environments, models, mypy's cache), as scripts/venv.sh.
CACHE_ROOT := $(or $(HARBOR_CACHE),$(or $(XDG_CACHE_HOME),$(HOME)/.cache)/harbor-assist)
PY_DIRS := $(wildcard handoff bot actions orders understanding vocabulary tests bench scripts)
# The Rasa environment's OpenBLAS mistakes recent CPUs for old ones and runs the sentence
# encoder five times slower; every command below inherits the right kernel family.
BLAS_CORETYPE := $(shell scripts/blas-coretype.sh)
ifneq ($(BLAS_CORETYPE),)
export OPENBLAS_CORETYPE := $(BLAS_CORETYPE)
endif

.PHONY: help setup system envs model triage-model run test lint types format bench soak audit clean clean-cache \
	bench-understanding bench-calibration bench-encoder bench-triage bench-assistant bench-nlu bench-serving \
	bench-publish bench-unanswered

help:
	@echo "make run      set up what is missing and start the whole stack (Ctrl-C stops it)"
	@echo "make test     set up what is missing and run every test suite"
	@echo "make lint | types | model | triage-model | bench | soak | audit | clean | clean-cache"
	@echo "make bench-understanding | bench-calibration | bench-encoder | bench-triage | bench-assistant | bench-nlu"
	@echo "make bench-serving | bench-publish | bench-unanswered"

setup: system envs

system:
	@bash scripts/system-deps.sh

envs:
	@bash scripts/venv.sh rasa
	@bash scripts/venv.sh app
	@$(RASA_ENV)/python -m understanding.weights --fetch >/dev/null
	@$(APP_ENV)/python -m understanding.graph --build >/dev/null
	@bash scripts/node-deps.sh
	@bash scripts/frontend.sh

model: setup
	@$(RASA_ENV)/python -m bot.model

triage-model: setup
	@$(APP_ENV)/python -m handoff.assistant.triage.train --if-stale

run: setup
	@$(RASA_ENV)/python -m bot.launcher

test: setup
	@bash scripts/test.sh

lint:
	@$(APP_ENV)/ruff check $(PY_DIRS)
	@$(APP_ENV)/ruff format --check $(PY_DIRS)

format:
	@$(APP_ENV)/ruff format $(PY_DIRS)
	@$(APP_ENV)/ruff check --fix $(PY_DIRS)

# mypy's incremental cache lives beside the environments, one per environment (named after it,
# so a new lock file starts a new cache): a fresh clone checks in about a second what takes 20 s
# cold. mypy validates each cached module by its source's hash, so another clone's cache is safe.
MYPY_CACHE := $(CACHE_ROOT)/mypy
types:
	@$(APP_ENV)/mypy --cache-dir "$(MYPY_CACHE)/$(notdir $(realpath .venv-app))" \
		handoff orders understanding vocabulary
	@$(RASA_ENV)/mypy --cache-dir "$(MYPY_CACHE)/$(notdir $(realpath .venv-rasa))" \
		bot actions orders understanding vocabulary

bench: setup
	@bash scripts/bench.sh

bench-understanding bench-calibration bench-encoder bench-triage bench-assistant bench-nlu bench-serving \
bench-publish bench-unanswered: setup
	@bash scripts/bench.sh $(@:bench-%=%)

soak: setup
	@$(APP_ENV)/python -m pytest tests/soak -q -s -p no:cacheprovider

audit:
	@bash scripts/audit.sh

clean:
	rm -rf var models results .rasa test-artifacts

clean-cache:
	rm -rf "$(CACHE_ROOT)"
