"""``make test`` on a machine without redis-server says so loudly: how many tests, and how to get it."""

from __future__ import annotations

from pathlib import Path

import pytest

CONFTEST = 'pytest_plugins = ["tests.support.redis"]\n'
INI = "[pytest]\nasyncio_default_fixture_loop_scope = function\n"
TESTS = """
def test_needs_redis(redis_server):
    pass

def test_needs_redis_too(redis_server):
    pass

def test_plain():
    pass
"""


@pytest.fixture
def no_redis_on_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv("CI", raising=False)


def test_a_run_without_redis_server_ends_with_a_banner_saying_what_was_skipped_and_how_to_get_it(
        pytester: pytest.Pytester, no_redis_on_path: None) -> None:
    pytester.makeini(INI)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(TESTS)
    result = pytester.runpytest("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, skipped=2)
    result.stdout.fnmatch_lines([
        "*!!! 2 Redis tests SKIPPED: redis-server is not installed !!!*",
        "The scale-out path * went untested on this machine.",
        "*sudo apt-get install redis-server*",
    ])


def test_a_run_that_skipped_no_redis_test_has_no_banner(pytester: pytest.Pytester,
                                                        no_redis_on_path: None) -> None:
    pytester.makeini(INI)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile("import pytest\n\ndef test_other():\n    pytest.skip('not today')\n")
    result = pytester.runpytest("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(skipped=1)
    assert "redis-server" not in result.stdout.str()
