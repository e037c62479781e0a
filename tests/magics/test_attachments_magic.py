"""`%%gigachat -a` and drawn images: in a real IPython shell and in a real kernel (nbclient), against the emulator."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from PIL import Image

from gigachat_mcp.emulator import Emulator
from tests.magics.test_kernel import kernel_env, run_notebook  # noqa: F401 - the fixture is used by name


def ask(ip: InteractiveShell, line: str, cell: str) -> str:
    with capture_output() as cap:
        ip.run_cell_magic("gigachat", line, cell)
    return cap.stdout


class FakeFrame:
    """Duck-typed like a pandas DataFrame (the magic never imports pandas)."""

    columns = ["city", "sales"]

    def to_csv(self, index: bool = True) -> str:
        return "city,sales\nMoscow,10\nKazan,7\n"


def test_paths_and_variables_become_attachments(shell: InteractiveShell, emulator: Emulator, tmp_path: Path) -> None:
    doc = tmp_path / "notes.txt"
    doc.write_text("hello from a file", encoding="utf-8")
    shell.user_ns["blob"] = b"\x89PNG\r\n\x1a\n" + b"\0" * 8
    shell.user_ns["picture"] = Image.new("RGB", (8, 8), (255, 0, 0))
    shell.user_ns["table"] = FakeFrame()
    out = ask(shell, f"-a {doc} -a table", "What is in these?")
    assert 'Text of notes.txt: "hello from a file"' in out and 'Text of table.txt: "city,sales' in out
    out = ask(shell, "-a picture", "and this picture?")
    assert "Attachment: picture.png (image/png," in out
    assert "Attachment: notes.txt" in out  # the earlier cell's attachments stay with its message
    assert len(emulator.requests_to("upload")) == 3  # ... but each content was uploaded once
    out = ask(shell, "--new -a blob", "bytes")
    assert "Attachment: attachment.png (image/png, 16 bytes)." in out
    for bad, message in (("-a nothing.txt", "no such file"), ("-a shell_object", "cannot be attached")):
        shell.user_ns["shell_object"] = object()
        with pytest.raises(UsageError, match=message):
            ask(shell, bad, "x")
    shell.user_ns["x"] = 5
    with pytest.raises(UsageError) as refused:
        ask(shell, "-a x", "x")
    assert str(refused.value).startswith("-a x: the variable x holds an int, which cannot be attached. Attach a "
                                         "path, or a variable holding bytes,")
    assert "a int" not in str(refused.value)


def test_matplotlib_figure_goes_as_png(shell: InteractiveShell) -> None:
    class Figure:  # duck-typed like matplotlib's Figure
        def savefig(self, buffer, format: str, bbox_inches: str) -> None:
            Image.new("RGB", (4, 4)).save(buffer, format=format.upper())

    shell.user_ns["figure"] = Figure()
    out = ask(shell, "-a figure", "What is wrong with this plot?")
    assert "Attachment: figure.png (image/png," in out


def test_drawn_image_is_available_through_o_var(shell: InteractiveShell) -> None:
    out = ask(shell, "-o answer", "нарисуй кота")
    answer = shell.user_ns["answer"]
    assert isinstance(answer, str) and answer.startswith("Here is the picture") and "<img" not in answer
    assert [f.mime_type for f in answer.files] == ["image/jpeg"]
    assert Image.open(io.BytesIO(answer.images[0])).format == "JPEG"
    assert "GigaChat image 1" in out  # a terminal says where the image is
    again = ask(shell, "", "make it bluer")
    assert "Tool state from an earlier turn" in again
    shell.run_line_magic("config", "GigaChatMagics.image_generation = False")
    ask(shell, "-o answer", "нарисуй собаку")
    assert shell.user_ns["answer"].files == ()


def test_kernel_shows_the_drawn_image_below_the_text(kernel_env: Emulator, tmp_path: Path) -> None:  # noqa: F811
    (tmp_path / "notes.txt").write_text("kernel doc", encoding="utf-8")
    nb, _ = run_notebook([
        "%load_ext gigachat_magics",
        "%%gigachat -a notes.txt -o answer\nнарисуй кота",
        "print(len(answer.images), answer.files[0].mime_type)",
    ], tmp_path)
    outputs = nb.cells[1].outputs
    kinds = [sorted(o.get("data", {})) for o in outputs]
    assert kinds[0] == ["text/markdown", "text/plain"] and "image/jpeg" in kinds[1]  # text, then the image
    assert 'Text of notes.txt: "kernel doc"' in outputs[0]["data"]["text/plain"]
    image = Image.open(io.BytesIO(base64.b64decode(outputs[1]["data"]["image/jpeg"])))
    image.load()
    assert image.format == "JPEG" and image.size == (64, 64)
    assert nb.cells[2].outputs[0]["text"].strip() == "1 image/jpeg"
