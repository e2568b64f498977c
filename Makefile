# housedesk — the two commands a newcomer needs are `make run` and `make test`.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev
RUN_STAMP := $(VENV)/.installed
CONFIG ?= config.example.toml
PYTEST := $(BIN)/python -m pytest -p no:cacheprovider

.PHONY: install run test test-sqlite test-postgres lint bench bench-compare migrations i18n clean system-deps

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(RUN_STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	@touch $(RUN_STAMP)

install: $(STAMP)  ## a local .venv with the project and its dev extras

run: $(RUN_STAMP)  ## init the SQLite database, import the example directory, start the service
	$(BIN)/housedesk --config $(CONFIG) init
	$(BIN)/housedesk --config $(CONFIG) import examples/directory.toml
	exec $(BIN)/housedesk --config $(CONFIG) run

system-deps:  ## Debian packages the tests use (dovecot for IMAP, chromium for the desk, a CJK font for Chinese charts), where missing
	@command -v dovecot >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >/dev/null) \
	      || echo "warning: could not install dovecot; IMAP tests will skip (fail under CI=true)"; \
	  else echo "warning: dovecot missing and cannot be installed here; IMAP tests will skip"; fi; }
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "warning: could not install chromium; desk browser tests will skip (fail under CI=true)"; \
	  else echo "warning: chromium missing and cannot be installed here; desk browser tests will skip"; fi; }

	@fc-list 2>/dev/null | grep -qiE 'wqy-(micro|zen)hei|NotoSansCJK|DroidSansFallback' || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei >/dev/null) \
	      || echo "warning: could not install fonts-wqy-microhei; the Chinese chart test will skip (fail under CI=true)"; \
	  else echo "warning: no CJK font and none can be installed here; the Chinese chart test will skip"; fi; }
	@command -v espeak-ng >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng >/dev/null) \
	      || echo "warning: could not install espeak-ng; the PBX speech test will skip"; \
	  else echo "warning: espeak-ng missing and cannot be installed here; the PBX speech test will skip"; fi; }

# The two runs side by side (the PostgreSQL run's output follows the SQLite run's): one run
# keeps less than one core busy (SQLite: ~315 s of CPU for ~450 s on a quiet 2-core VM), so
# on two cores the PostgreSQL run (~190 s of CPU) is mostly hidden instead of added.
test: install system-deps  ## the whole suite on SQLite and, at the same time, core and cluster on PostgreSQL
	@log=$$(mktemp); \
	$(PYTEST) -q tests/core tests/cluster --db=postgres >$$log 2>&1 & postgres=$$!; \
	$(PYTEST) -q; sqlite=$$?; \
	wait $$postgres; pg=$$?; \
	echo "== PostgreSQL: $(PYTEST) -q tests/core tests/cluster --db=postgres"; cat $$log; rm -f $$log; \
	test $$sqlite = 0 && test $$pg = 0

test-sqlite: install
	$(PYTEST) -q

test-postgres: install  ## core and cluster suites on PostgreSQL (tortoise caches SQL per process: own run)
	$(PYTEST) -q tests/core tests/cluster --db=postgres

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy core intake bots housedesk presentation speech_models bench desk
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/test_architecture.py

BENCHES := speech_bench core_bench email_bench telegram_bench report_bench loop_bench scheduler_bench answer_burst_bench outage_bench desk_bench cluster_bench

bench: install  ## every benchmark, each against its raw baseline measured in the same run
	@status=0; for b in $(BENCHES); do $(BIN)/python -m bench.$$b || status=1; done; exit $$status

BASE ?= HEAD~1

bench-compare: install  ## the benchmarks of commit BASE and of this tree, in one run: make bench-compare BASE=REV
	$(BIN)/python -m bench.compare --base $(BASE)

migrations: install  ## write a migration for model changes: make migrations NAME=what_changed
	$(BIN)/tortoise -c core.storage.db.MAKEMIGRATIONS_CONFIG makemigrations $(if $(NAME),--name $(NAME))

i18n: install  ## extract messages and update the .po catalogs
	$(BIN)/pybabel extract -F babel.cfg --no-default-keywords -k N_ -k gettext:2 -k ngettext:2,3 -k _ -k plural:1,2 --omit-header -o core/locale/housedesk.pot .
	for po in core/locale/*.po; do $(BIN)/pybabel update -i core/locale/housedesk.pot -l $$(basename $$po .po) -o $$po --no-fuzzy-matching; done

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache
