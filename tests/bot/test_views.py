"""Unit tests of bot/answers/buttons.py: what a button keeps in its custom_id, who may press it, which a result gets."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import discord
import pytest

from bot.answers.buttons import (
    CancelButton,
    DeleteButton,
    PaintAnotherButton,
    RestyleButton,
    UpscaleButton,
    status_view,
)
from bot.answers.results import LOOKS, result_view
from engine.jobs.report import Animation, JobReport, Kind
from engine.nst.params import StyleParams

OWNER, OTHER = 900000000000002101, 900000000000002102
PICTURE = JobReport(Kind.PAINTING, StyleParams(size=64), 64, 48, 1.5, schedule=((32, 5), (64, 5)))


async def parsed(cls: Any, custom_id: str) -> Any:
    """The button discord.py rebuilds from a click on ``custom_id`` (after a restart, too)."""
    match = cls.__discord_ui_compiled_template__.fullmatch(custom_id)
    assert match is not None, custom_id
    return await cls.from_custom_id(None, None, match)


async def test_a_grid_cell_upscale_keeps_its_cell_and_box_in_the_custom_id() -> None:
    button = UpscaleButton(2, (0.5, 0.0, 1.0, 0.5))
    assert button.custom_id == "stylebot:upscale:2:5000,0,10000,5000"
    assert button.item.label == "Upscale β×1"
    again = await parsed(UpscaleButton, button.custom_id)
    assert (again.cell, again.box) == (2, (0.5, 0.0, 1.0, 0.5))
    plain = await parsed(UpscaleButton, UpscaleButton().custom_id)
    assert (plain.cell, plain.box) == (None, None)


async def test_cancel_delete_and_restyle_buttons_survive_a_restart() -> None:
    cancel = await parsed(CancelButton, CancelButton("ab12-cd", OWNER).custom_id)
    assert (cancel.job_id, cancel.owner_id) == ("ab12-cd", OWNER)
    assert (await parsed(DeleteButton, DeleteButton(OWNER).custom_id)).owner_id == OWNER
    assert (await parsed(RestyleButton, RestyleButton("less").custom_id)).how == "less"
    assert isinstance(await parsed(PaintAnotherButton, PaintAnotherButton().custom_id), PaintAnotherButton)


def labels(view: discord.ui.View) -> list[str]:
    return [item.item.label for item in view.children]  # type: ignore[attr-defined]


async def test_buttons_are_labelled_in_the_messages_language() -> None:
    assert labels(result_view(OWNER, PICTURE, lang="ko")) == ["스타일 강하게", "스타일 약하게", "변형", "업스케일", "다른 스타일로", "매개변수", "삭제"]
    assert labels(status_view("ab12", OWNER, "ko")) == ["취소"]


async def test_a_result_gets_the_buttons_that_fit_it() -> None:
    assert labels(result_view(OWNER, PICTURE)) == ["More style", "Less style", "Variation", "Upscale", "Restyle", "Parameters",
                                                     "Delete"]
    upscaled = replace(PICTURE, kind=Kind.UPSCALE, upscaled_from=(32, 24))
    assert labels(result_view(OWNER, upscaled)) == ["More style", "Less style", "Variation", "Upscale", "Restyle", "Parameters",
                                                     "Delete"]
    animation = ["More style", "Less style", "Variation", "Restyle", "Parameters", "Delete"]
    assert labels(result_view(OWNER, replace(PICTURE, kind=Kind.ANIMATION, animation=Animation("webp", 8)))) == animation
    boxes = ((0, 0, 0.5, 0.5), (0.5, 0, 1, 0.5), (0, 0.5, 0.5, 1), (0.5, 0.5, 1, 1))
    grid = replace(PICTURE, kind=Kind.GRID, boxes=boxes, factors=(0.1, 0.25, 1.0, 4.0))
    assert labels(result_view(OWNER, grid)) == [
        "Upscale β×0.1", "Upscale β×0.25", "Upscale β×1", "Upscale β×4", "Restyle", "Parameters", "Delete"]
    assert labels(result_view(OWNER, replace(PICTURE, kind=Kind.QUICK))) == ["Paint it properly", "Restyle", "Parameters",
                                                                                 "Delete"]
    assert labels(status_view("ab12", OWNER)) == ["Cancel"]
    assert all(view.timeout is None for view in (result_view(OWNER, PICTURE), status_view("ab12", OWNER)))


def test_every_kind_of_result_has_an_embed_and_buttons() -> None:
    assert set(LOOKS) == set(Kind)


class Response:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bool]] = []

    async def send_message(self, text: str, *, ephemeral: bool = False) -> None:
        self.sent.append((text, ephemeral))


class Store:
    """The bits of bot.core.store.GuildStore that bot.words.language.choose reads for an interaction."""

    async def remember_language(self, user_id: int, language: str) -> None:
        self.remembered = (user_id, language)


def click(user_id: int, *, manage_messages: bool = False, in_guild: bool = True, locale: str = "en-US") -> Any:
    return SimpleNamespace(user=SimpleNamespace(id=user_id), response=Response(),
                           guild=object() if in_guild else None, locale=locale, guild_locale=None,
                           client=SimpleNamespace(store=Store()),
                           permissions=discord.Permissions(manage_messages=manage_messages))


@pytest.mark.parametrize("button", [CancelButton("ab12", OWNER), DeleteButton(OWNER)],
                         ids=["cancel", "delete"])
async def test_only_the_owner_or_a_moderator_may_press_cancel_and_delete(button: Any) -> None:
    assert await button.interaction_check(click(OWNER))
    assert await button.interaction_check(click(OTHER, manage_messages=True))
    for stranger in (click(OTHER), click(OTHER, manage_messages=True, in_guild=False)):
        assert not await button.interaction_check(stranger)
        [(text, ephemeral)] = stranger.response.sent
        assert text.startswith("Only the person who asked for this") and ephemeral
    korean = click(OTHER, locale="ko")  # the refusal speaks the clicking user's language
    assert not await button.interaction_check(korean)
    [(text, _)] = korean.response.sent
    assert "요청한 사람(또는 관리자)만" in text and "Only" not in text
