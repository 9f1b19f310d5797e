# The two set-up commands: `make demo` and `make test`; `make bot` runs the bot. Each creates .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bot venv bench bench-animation clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[engine,test,demo]'
	touch $(STAMP)

venv: $(STAMP)

## Stylize a bundled photo with a painting drawn by the project; writes out/demo.png (offline).
demo: $(STAMP)
	$(BIN)/python -m engine demo -o out/demo.png

## The bot, from .env (cp .env.example .env, then set DISCORD_TOKEN): with the defaults, jobs run in
## this process and are kept in SQLite (DATABASE_PATH). Without a token it says so in one line.
bot: $(STAMP)
	@$(BIN)/python -m bot

## Lint (ruff, the rules in pyproject.toml), then the whole test suite (the Redis tests need
## redis-server on PATH: apt-get install redis-server).
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

## Engine vs the naive reference, side by side (needs the reference script, naive_gatys.py:
## its `--naive PATH` option names it; bench/compare.py says where it looks by default).
bench: $(STAMP)
	$(BIN)/python -m bench.compare --device cpu --size 256

## Animations: flicker, style loss and time of the temporal method vs independent frames (24 frames, 256 px).
bench-animation: $(STAMP)
	$(BIN)/python -m bench.animation --frames 24 --size 256 --sweep 10,15

clean:
	rm -rf $(VENV) out .pytest_cache
