"""docs/getting-started.md works: its ```python blocks, run in order in one
namespace in an empty folder, as a reader would paste them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[1] / "docs" / "getting-started.md"
_BLOCK = re.compile(r"^```python\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def _blocks() -> list[str]:
    return _BLOCK.findall(PAGE.read_text(encoding="utf-8"))


def test_the_page_has_the_three_steps() -> None:
    text = "\n".join(_blocks())
    assert len(_blocks()) >= 4
    for needed in ("Worker(", "pc.check(", "CollectionSession(", "submit_declaration()"):
        assert needed in text, needed


def test_every_python_block_runs_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in [n for n in __import__("os").environ if n.startswith("PENSION_COLLECT_")]:
        monkeypatch.delenv(name)
    namespace: dict[str, object] = {"__name__": "getting_started"}
    for i, block in enumerate(_blocks()):
        code = compile(block, f"{PAGE.name}[python block {i + 1}]", "exec")
        exec(code, namespace)
    printed = capsys.readouterr().out
    assert "workers-1 succeeded" in printed
    assert (tmp_path / "forms" / "confirmation-1.pdf").is_file()
    assert namespace["status"]["next"]["command"] is None  # type: ignore[index]
