"""The Korean glossary in docs/catalogue.md holds: each term is used in the ko catalogue for its one meaning.

For each row whose first two cells hold terms in backticks:
- forward: where the English says one of the row's first words as a noun (an article or possessive before
  it: "the painting", "a style image"), the Korean uses the term;
- backward: where the Korean uses the term, the English says one of the row's words (the first ones, or
  those after "also").
Names of commands and options (``*.name``) are identifiers, not sentences, and are left out. The words the
glossary bars from Korean text (워커, 인자, …) appear nowhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.words import i18n

DOC = Path(__file__).resolve().parents[2] / "docs" / "catalogue.md"
DETERMINER = r"(?:the|a|an|your|this|that|its|each|every|one|another|no|their|my)"


@dataclass(frozen=True)
class Term:
    korean: tuple[str, ...]
    words: tuple[str, ...]  # both directions
    also: tuple[str, ...]  # backward only

    def said_in_english(self, text: str) -> bool:
        return any(re.search(rf"\b{re.escape(w)}(?:s|'s)?\b", text, re.IGNORECASE) for w in (*self.words, *self.also))

    def named_as_noun(self, text: str) -> bool:
        return any(re.search(rf"\b{DETERMINER}\s+(?:[\w']+\s+)?{re.escape(w)}s?\b", text, re.IGNORECASE) for w in self.words)

    def said_in_korean(self, text: str) -> bool:
        return any(k in text for k in self.korean)


def glossary(doc: str) -> tuple[list[Term], list[str]]:
    """The checked rows of the glossary table, and the words barred from Korean text."""
    section = doc.split("### Glossary", 1)[1]
    terms = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or "`" not in cells[0] or "`" not in cells[1]:
            continue
        first, _, also = cells[0].partition("(also")
        terms.append(Term(tuple(re.findall(r"`([^`]+)`", cells[1])), tuple(re.findall(r"`([^`]+)`", first)),
                          tuple(re.findall(r"`([^`]+)`", also))))
    barred_line = section.split("Not used in Korean text", 1)[1].split("\n\n", 1)[0]
    barred = re.findall(r"([가-힣][가-힣 ]*[가-힣])\s+\(", barred_line)
    return terms, barred


def texts(lang: str) -> dict[str, str]:
    out = {}
    for message in i18n.catalog(lang):
        if not message.id:
            continue
        key = message.id[0] if isinstance(message.id, tuple) else message.id
        said = message.string
        out[key] = " ".join(said) if isinstance(said, (tuple, list)) else said
    return out


def problems(english: dict[str, str], korean: dict[str, str], terms: list[Term], barred: list[str]) -> list[str]:
    found = []
    for key, ko in sorted(korean.items()):
        en = english.get(key, "")
        for word in barred:
            if word in ko:
                found.append(f"{key}: says {word}")
        if key.endswith(".name"):
            continue
        for term in terms:
            if term.named_as_noun(en) and not term.said_in_korean(ko):
                found.append(f"{key}: the English names {'/'.join(term.words)}, the Korean lacks {term.korean[0]}")
            if term.said_in_korean(ko) and not term.said_in_english(en):
                found.append(f"{key}: {term.korean[0]} means {'/'.join(term.words)}, which the English does not say")
    return found


@pytest.fixture(scope="module")
def rules() -> tuple[list[Term], list[str]]:
    terms, barred = glossary(DOC.read_text(encoding="utf-8"))
    assert len(terms) >= 5 and {"그림", "사진"} <= {k for t in terms for k in t.korean}
    assert {"워커", "인자", "비용", "스타일 이미지"} <= set(barred)
    return terms, barred


def test_every_glossary_term_has_one_meaning_in_the_korean_catalogue(rules: tuple[list[Term], list[str]]) -> None:
    assert problems(texts("en"), texts("ko"), *rules) == []


def test_the_check_catches_a_term_used_for_another_meaning(rules: tuple[list[Term], list[str]]) -> None:
    """그림 for the result, 스타일 이미지 for the painting, 워커 in user text: each is reported."""
    english = {"refusal.no_result_picture": "this result has no picture left to upscale.",
               "input.no_style": "give at least one style image",
               "job.expired": "the job's images expired before a worker was free"}
    korean = {"refusal.no_result_picture": "이 결과에는 크게 다시 그릴 그림이 남아 있지 않아요.",
              "input.no_style": "스타일 이미지를 한 장 이상 보내 주세요",
              "job.expired": "워커가 비기 전에 작업 이미지가 만료됐어요"}
    found = problems(english, korean, *rules)
    assert any(p.startswith("refusal.no_result_picture: 그림 means painting") for p in found), found
    assert "input.no_style: says 스타일 이미지" in found and "job.expired: says 워커" in found, found
    assert any(p.startswith("input.no_style: the English names painting") for p in found), found
