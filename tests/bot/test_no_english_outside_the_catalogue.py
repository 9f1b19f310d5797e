"""No sentence a user reads is written in the code: a scanner of what the bot hands to Discord.

Every string literal passed to a call that puts text in front of a user (send, edit, reply,
respond, followup, a Button's label, an Embed's title or field, a SelectOption, a Modal...) or
raised as an error the user reads (UserError, InputError, ParamError...) must not read as words:
user text comes from ``bot.words.i18n.text`` with a key. Keys (``refusal.no_dms``), field names
(``max_size``), emoji and markup pass; "Cancelled: {reason}" does not. Slash command names and
descriptions in decorators are the defaults the translator localises, so they are not scanned.
The engine's input checks are scanned for raises with English too (they carry keys).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SINKS = {  # calls whose text arguments a user reads
    "send", "send_message", "edit", "edit_message", "reply", "respond", "edit_original_response",
    "add_field", "insert_field_at", "set_field_at", "set_footer", "set_author", "Embed", "Button", "Select",
    "SelectOption", "Modal", "TextInput", "Label", "TextDisplay", "add_option", "append_option", "send_modal",
    "UserError", "InputError", "ParamError", "UserLimitReached", "QueueFull", "JobFailed", "JobCancelled",
    "BadArgument", "CheckFailure", "notify_directly", "finish", "_send", "_refuse",
}
TEXT_KEYWORDS = {"content", "label", "title", "description", "name", "value", "text", "placeholder", "default"}
WORDS = re.compile(r"[A-Za-z]{2,}[ ,;:!?'’()]*[ ,;:!?'’][ ,;:!?'’()]*[A-Za-z]{2,}")  # two words in a row: a sentence, not a key
SCANNED = ("bot", "engine/nst/images.py", "engine/nst/media.py", "engine/nst/params.py", "engine/nst/video.py",
           "engine/jobs")


def _literal_text(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):  # an f-string: its literal parts, placeholders as gaps
        return " ".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
    return None


def _name(func: ast.expr) -> str:
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def english_sentences(source: str, filename: str = "<code>") -> list[str]:
    """``file:line: text`` for every literal sentence given to a user-facing call in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or _name(node.func) not in SINKS:
            continue
        texts = [*node.args, *(k.value for k in node.keywords if k.arg in TEXT_KEYWORDS)]
        for arg in texts:
            text = _literal_text(arg)
            if text is not None and WORDS.search(text):
                found.append((arg.lineno, f"{filename}:{arg.lineno}: {text!r}"))
    return [hit for _, hit in sorted(found)]


def scanned_files() -> list[Path]:
    files = []
    for part in SCANNED:
        path = ROOT / part
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return files


def test_no_user_facing_english_is_written_outside_the_catalogue() -> None:
    found = [hit for path in scanned_files()
             for hit in english_sentences(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))]
    assert found == []


def test_the_scanner_finds_what_it_is_for() -> None:
    code = '''
async def f(ctx, interaction, embed, name):
    await ctx.send("Hello there, friend")
    await interaction.response.send_message(f"Sorry {name}, that failed", ephemeral=True)
    embed.add_field(name="Options (key=value)", value="max_size")
    discord.ui.Button(label="More style")
    raise UserError("I'm restarting; please send that again in a minute.")
    await ctx.send(i18n.text(lang, "refusal.restarting"))
    raise UserError("refusal.restarting")
    embed.add_field(name="max_size", value=f"{n} px")
'''
    found = english_sentences(code)
    assert [hit.split(": ", 1)[1] for hit in found] == [
        "'Hello there, friend'", "'Sorry  , that failed'", "'Options (key=value)'", "'More style'",
        '"I\'m restarting; please send that again in a minute."']
    assert len(scanned_files()) > 20 and ROOT / "bot" / "cogs" / "help.py" in scanned_files()
