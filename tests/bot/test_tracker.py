"""Unit tests of bot/answers/tracker.py's pure parts: where a job's answers go, and what a result's reply says."""

from __future__ import annotations

from dataclasses import replace

from bot.answers.delivery import Delivery, mention_only
from bot.answers.tracker import reduction_note
from engine.jobs.report import Animation, JobReport, Kind
from engine.nst.params import StyleParams

WHERE = Delivery(channel_id=1, status_message_id=2, reply_to_id=3, reply_author_id=4, upload_limit=10 * 2**20,
                 guild_id=5)


def test_delivery_travels_in_the_job_meta_as_plain_ints_and_comes_back_the_same() -> None:
    meta = WHERE.to_meta()
    assert all(isinstance(v, int) for k, v in meta.items() if k != "lang") and meta["lang"] == "en"
    assert Delivery.from_meta(meta) == WHERE
    assert Delivery.from_meta({**meta, "added_later": "x"}) == WHERE  # other keys in the meta are not ours
    dm = {k: v for k, v in meta.items() if k != "guild_id"}
    assert Delivery.from_meta(dm) == Delivery(1, 2, 3, 4, 10 * 2**20, guild_id=None)


def test_a_meta_without_delivery_data_gives_none() -> None:
    assert Delivery.from_meta({}) is None
    assert Delivery.from_meta({"channel_id": 1}) is None


def test_the_reply_says_what_the_result_gave_up_the_engines_caps_first() -> None:
    colours = {"key": "reduced.colours", "args": {"count": 64}}
    still = JobReport(Kind.PAINTING, StyleParams(), 64, 48, 1.0)
    assert reduction_note(still, []) == ""
    assert reduction_note(still, [colours]) == " (to fit this channel's upload limit: 64 colours)"
    capped = Animation("webp", 8, reduced=({"key": "reduced.size", "args": {"size": 512, "side": 256}},))
    report = replace(still, kind=Kind.ANIMATION, animation=capped)
    fitted = [{"key": "reduced.quality", "args": {"quality": 70}}, {"key": "reduced.every_2nd", "args": {"n": 2}}]
    assert reduction_note(report, fitted) == (" (size 512 → 256 px (the most for animations here); "
                                              "to fit this channel's upload limit: quality 70, every 2nd frame)")
    assert reduction_note(report, fitted, "ko") == (" (크기 512 → 256px (여기서 애니메이션에 허용되는 최대 크기); "
                                                    "이 채널의 업로드 한도에 맞추느라 줄였어요: 품질 70, 2프레임마다 하나)")


def test_an_answer_may_ping_its_requester_and_nobody_else() -> None:
    assert mention_only(42).to_dict() == {"parse": [], "users": [42], "replied_user": True}
    assert mention_only(42, replied_user=False).to_dict() == {"parse": [], "users": [42]}  # Discord's shape


def test_the_reach_fields_travel_only_where_set() -> None:
    where = Delivery(1, 2, 3, 4, 10 * 2**20, guild_id=5, inputs_message_id=6, note="painted <@7>'s avatar",
                     webhook_token="abc", lang="ko")
    assert Delivery.from_meta(where.to_meta()) == where  # a courier-delivered job keeps its language too
    assert set(WHERE.to_meta()) == {"channel_id", "status_message_id", "reply_to_id", "reply_author_id",
                                    "upload_limit", "guild_id", "lang", "spoiler"}
