"""The command line's argument and error handling, on the CPU: `cupyquant
demo --elements` bounds, out-of-memory errors as one line, and `cupyquant
inspect` printing what a file holds without passing control characters on."""

from __future__ import annotations

import numpy as np
import pytest
from gguf import GGUFWriter

import cupyquant.demo
from cupyquant.cli import build_parser, main, printable


# ------------------------------------------------------------------------ demo
@pytest.mark.parametrize("elements", [str(2**28 + 1), str(2**40), "9" * 23])
def test_demo_elements_above_the_bound(capsys, elements):
    with pytest.raises(SystemExit) as e:
        main(["demo", "--elements", elements, "--formats", "Q4_0"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "argument --elements: at most 268,435,456 (2**28) elements a format" in err, err
    assert f"got {int(elements):,}" in err, err


def test_demo_elements_bound_is_inclusive_and_documented(capsys):
    assert build_parser().parse_args(["demo", "--elements", str(2**28)]).elements == 2**28
    with pytest.raises(SystemExit) as e:
        main(["demo", "--help"])
    assert e.value.code == 0
    help_text = " ".join(capsys.readouterr().out.split())   # argparse wraps lines
    assert "at most 268435456 (2**28)" in help_text, help_text
    with pytest.raises(ValueError, match=r"--elements must be at most 268,435,456"):
        cupyquant.demo.run_demo(elements=2**28 + 1)


def test_out_of_memory_is_one_line(capsys, monkeypatch):
    def no_memory(**kwargs):
        raise MemoryError("Unable to allocate 8.00 TiB for an array")

    monkeypatch.setattr(cupyquant.demo, "run_demo", no_memory)
    assert main(["demo"]) == 2
    err = capsys.readouterr().err
    assert err == "cupyquant demo: error: out of memory: Unable to allocate 8.00 TiB for an array\n"

    def bare(**kwargs):
        raise MemoryError

    monkeypatch.setattr(cupyquant.demo, "run_demo", bare)
    assert main(["demo"]) == 2
    assert capsys.readouterr().err == "cupyquant demo: error: out of memory\n"


# --------------------------------------------------------------------- inspect
def test_printable():
    assert printable("blk.0.attn_q.weight") == "blk.0.attn_q.weight"
    assert printable("wörld ▁tok 日本") == "wörld ▁tok 日本"
    assert printable("a\nb\tc\x1b[2J\x07\x7f\u200b") == "a\\nb\\tc\\x1b[2J\\x07\\x7f\\u200b"


def test_inspect_escapes_names_and_values(tmp_path, capsys):
    path = tmp_path / "m.gguf"
    w = GGUFWriter(path, "test")
    w.add_name("evil\x1b]0;pwned\x07\x1b[2J")
    w.add_tensor("a\nfake.row  Q4_0  1 x 1  0", np.ones(4, np.float32))
    w.add_tensor("\x1b[31mred\x1b[0m", np.ones(4, np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert not any(not c.isprintable() for c in out.replace("\n", "")), repr(out)
    assert "general.name = evil\\x1b]0;pwned\\x07\\x1b[2J\n" in out, out
    rows = [line for line in out.splitlines() if line.endswith("16")]
    assert len(rows) == 2, out   # one line a tensor: the newline in a name broke no row
    assert rows[0].startswith("a\\nfake.row  Q4_0  1 x 1  0  F32"), rows
    assert rows[1].startswith("\\x1b[31mred\\x1b[0m  "), rows
