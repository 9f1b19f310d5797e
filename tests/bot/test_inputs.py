"""Unit tests of bot/requests/inputs.py: what is refused from the attachments' metadata alone, before any download."""

from __future__ import annotations

from types import SimpleNamespace

import discord
import pytest

from bot.core.errors import UserError
from bot.requests.inputs import check, looks_like_image, looks_like_video, role

MIB = 2**20
LIMITS = {"max_styles": 3, "max_bytes": 25 * MIB}


def attachment(filename: str, content_type: str | None = "image/png", size: int = 1000) -> discord.Attachment:
    data = {"id": 1, "size": size, "filename": filename, "url": "https://cdn/x", "proxy_url": "https://cdn/x"}
    if content_type is not None:
        data["content_type"] = content_type
    return discord.Attachment(data=data, state=SimpleNamespace(http=None))  # type: ignore[arg-type]


PHOTO, PAINTING = attachment("photo.png"), attachment("painting.jpg", "image/jpeg")


def test_each_input_is_named_by_its_role() -> None:
    assert [role(i) for i in range(4)] == ["content", "style", "style 2", "style 3"]


@pytest.mark.parametrize("name, ctype, image, video", [
    ("a.png", "image/png", True, False),
    ("a.PNG", None, True, False),  # no content type: the extension decides
    ("scan", "image/tiff; charset=binary", True, False),
    ("clip.mov", None, False, True),
    ("clip", "video/webm", False, True),
    ("notes.txt", "text/plain", False, False),
])
def test_an_attachment_is_judged_by_its_content_type_or_extension(name: str, ctype: str | None, image: bool,
                                                                   video: bool) -> None:
    file = attachment(name, ctype)
    assert (looks_like_image(file), looks_like_video(file)) == (image, video)


def test_a_photo_and_a_painting_pass_and_a_photo_may_be_a_clip() -> None:
    check([PHOTO, PAINTING], **LIMITS)
    check([attachment("clip.mp4", "video/mp4"), PAINTING], **LIMITS)
    check([PHOTO], saved=1, **LIMITS)  # the painting from the server's library


@pytest.mark.parametrize("attachments, saved, says", [
    ([], 0, "I need two images and found no image"),
    ([PHOTO], 0, "I need two images and found only one file"),
    ([], 1, "attach the photo to paint in that style"),
    ([PHOTO, *[PAINTING] * 4], 0, "that is 5 files; send one photo and at most 3 style"),
    ([PHOTO, PAINTING, PAINTING], 2, "that is 3 files and 2 saved styles"),
    ([PHOTO, attachment("clip.mp4", "video/mp4")], 0, "the style file `clip.mp4` is not an image"),
    ([attachment("notes.txt", "text/plain"), PAINTING], 0, "(the photo may also be an MP4, WebM or MOV"),
    ([PHOTO, attachment("huge.png", size=30 * MIB)], 0, "`huge.png` is 30.0 MB; the limit is 25.0 MB"),
])
def test_what_the_metadata_already_shows_is_refused_before_any_download(
        attachments: list[discord.Attachment], saved: int, says: str) -> None:
    with pytest.raises(UserError) as info:
        check(attachments, saved=saved, **LIMITS)
    assert says in str(info.value)
