"""The ``cupyquant`` command (also ``python -m cupyquant``).

    cupyquant inspect model.gguf     # the tensors of a GGUF file, totals per type
    cupyquant demo                   # write, load and check a GGUF file of every format
"""

from __future__ import annotations

import argparse
import os
import sys

from . import __version__


def _human_bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1024
    return f"{n} B"  # unreachable


def _type_name(qtype) -> str:
    name = getattr(qtype, "name", None)
    if name is not None:
        return str(name)
    try:
        from gguf import GGMLQuantizationType
        return GGMLQuantizationType(int(qtype)).name
    except (ValueError, TypeError):
        return str(qtype)


def _shape_text(shape) -> str:
    return " x ".join(str(int(s)) for s in shape) if len(shape) else "scalar"


def printable(text) -> str:
    """``text`` with every non-printable character (newline, ESC, other control
    characters) written as its Python escape, e.g. ``\\n`` or ``\\x1b``: names
    and values come from the file and must neither break the table nor reach
    the terminal as control sequences."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _meta_text(value, limit: int = 70) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    text = printable(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def table(rows: list[list[str]], header: list[str], align: str) -> str:
    """A plain-text table; ``align`` holds one of "<" / ">" per column."""
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    fmt = "  ".join(f"{{:{a}{w}}}" for a, w in zip(align, widths))
    lines = [fmt.format(*header), "  ".join("-" * w for w in widths)]
    lines += [fmt.format(*row) for row in rows]
    return "\n".join(line.rstrip() for line in lines)


# --------------------------------------------------------------------- inspect
_KEY_METADATA = ("general.architecture", "general.name", "general.file_type",
                 "general.quantization_version", "general.alignment")


def cmd_inspect(args) -> int:
    from .gguf_file import open_gguf

    f = open_gguf(args.file)
    try:
        _print_inspect(args.file, f)
    finally:
        close = getattr(f, "close", None)
        if close is not None:
            close()
    return 0


def _print_inspect(path, f) -> None:
    tensors = list(f.tensors.values())
    meta = f.metadata
    print(f"{printable(path)}: {len(tensors)} tensors, {len(meta)} metadata keys, "
          f"{_human_bytes(os.path.getsize(path))}")
    for key in _KEY_METADATA:
        if key in meta:
            print(f"  {key} = {_meta_text(meta[key])}")
    print()

    rows = []
    per_type: dict[str, list[int]] = {}
    for t in tensors:
        tname = _type_name(t.qtype)
        rows.append([printable(t.name), tname, _shape_text(t.shape), f"{int(t.nbytes):,}"])
        acc = per_type.setdefault(tname, [0, 0, 0])
        acc[0] += 1
        acc[1] += int(t.n_elements)
        acc[2] += int(t.nbytes)
    if rows:
        print(table(rows, ["name", "type", "shape", "bytes"], "<<<>"))
        print()

    trows = []
    for tname, (count, elems, nbytes) in sorted(per_type.items(), key=lambda kv: -kv[1][2]):
        bpw = f"{8 * nbytes / elems:.4g}" if elems else "-"
        trows.append([tname, str(count), f"{elems:,}", f"{nbytes:,}", _human_bytes(nbytes), bpw])
    tot_e = sum(v[1] for v in per_type.values())
    tot_b = sum(v[2] for v in per_type.values())
    trows.append(["total", str(len(tensors)), f"{tot_e:,}", f"{tot_b:,}", _human_bytes(tot_b),
                  f"{8 * tot_b / tot_e:.4g}" if tot_e else "-"])
    print(table(trows, ["type", "tensors", "elements", "bytes", "size", "bits/weight"], "<>>>>>"))


# ------------------------------------------------------------------------ demo
def cmd_demo(args) -> int:
    from .demo import run_demo
    return run_demo(elements=args.elements, device=args.device, formats=args.formats,
                    output=args.output, repeats=args.repeats)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _element_count(text: str) -> int:
    from .demo import MAX_ELEMENTS
    value = _positive_int(text)
    if value > MAX_ELEMENTS:
        raise argparse.ArgumentTypeError(f"at most {MAX_ELEMENTS:,} (2**28) elements a format, "
                                         f"got {value:,}")
    return value


def build_parser() -> argparse.ArgumentParser:
    from .demo import DEFAULT_ELEMENTS, MAX_ELEMENTS
    ap = argparse.ArgumentParser(
        prog="cupyquant",
        description="GGUF quantized weights on the GPU (ROCm and CUDA) through CuPy.")
    ap.add_argument("--version", action="version", version=f"cupyquant {__version__}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("inspect", help="list the tensors of a GGUF file, with totals per type",
                       description="Print the tensors of a GGUF file (name, type, shape, bytes), "
                                   "a few metadata keys and the totals per type.")
    p.add_argument("file", metavar="FILE", help="a .gguf file")
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser("demo", help="write a GGUF file in every format, load it back and check it",
                       description="Write a small GGUF file holding one tensor of every supported "
                                   "format (gguf.GGUFWriter), load it back with "
                                   "cupyquant.load_gguf (on the GPU when one is usable), check "
                                   "every tensor bit for bit against gguf.quants.dequantize and "
                                   "time the dequantization. Exit status 1 if any tensor differs.")
    p.add_argument("--elements", type=_element_count, default=None, metavar="N",
                   help="elements per tensor (one tensor a format), rounded up to a multiple "
                        f"of 256; at most {MAX_ELEMENTS} (2**28) (default: {DEFAULT_ELEMENTS})")
    p.add_argument("--device", choices=("auto", "gpu", "cpu"), default="auto",
                   help="auto (default): the GPU when usable, else the CPU")
    p.add_argument("--formats", nargs="+", metavar="NAME",
                   help="only these formats (default: every format in cupyquant.FORMATS)")
    p.add_argument("--output", metavar="FILE",
                   help="write the GGUF file here and keep it (default: a temporary folder)")
    p.add_argument("--repeats", type=_positive_int, default=5, metavar="R",
                   help="timed dequantizations per tensor; the median is reported (default: 5)")
    p.set_defaults(func=cmd_demo)
    return ap


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from .errors import CupyquantError
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:  # `cupyquant inspect x.gguf | head`: not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes at exit
        return 0
    except (CupyquantError, OSError) as e:  # GGUFError, a missing file, ...: one line
        print(f"cupyquant {args.command}: error: {e}", file=sys.stderr)
        return 2
    except MemoryError as e:  # NumPy's names the size asked for; a bare one says nothing
        print(f"cupyquant {args.command}: error: out of memory{f': {e}' if str(e) else ''}",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
