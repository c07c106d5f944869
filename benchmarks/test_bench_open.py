"""Time to open a GGUF file with a tokenizer-sized header: cupyquant's reader
against gguf.GGUFReader.

The file holds a 262,144-entry token string array (plus the scores and token
types of those tokens) and 300 small tensors. cupyquant's open skips the arrays
(decoding them on first access); "open + all metadata" decodes every value,
which is what GGUFReader does at open.

    pytest benchmarks/test_bench_open.py --benchmark-only
"""


import pytest
from gguf import GGUFReader

from cupyquant.gguf_file import open_gguf
from cupyquant.testing import LARGE_TOKENIZER, write_tokenizer_sized_gguf

N_TOKENS, N_BLOCKS = LARGE_TOKENIZER   # x 10 tensors = 300 tensors


@pytest.fixture(scope="module")
def bench_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("open") / "tokenizer.gguf"
    write_tokenizer_sized_gguf(path)
    return str(path)


def _open_close(path):
    f = open_gguf(path)
    n = len(f.tensors)
    f.close()
    return n


def _open_read_all(path):
    with open_gguf(path) as f:
        for key in f.metadata:
            f.metadata[key]
        return len(f.tensors)


@pytest.mark.benchmark(group="open GGUF (262,144 tokens, 300 tensors)")
def test_bench_open_cupyquant(benchmark, bench_file):
    benchmark.extra_info.update(impl="cupyquant", what="open")
    assert benchmark(_open_close, bench_file) == 10 * N_BLOCKS


@pytest.mark.benchmark(group="open GGUF (262,144 tokens, 300 tensors)")
def test_bench_open_cupyquant_all_metadata(benchmark, bench_file):
    benchmark.extra_info.update(impl="cupyquant", what="open + decode all metadata")
    assert benchmark.pedantic(_open_read_all, args=(bench_file,), rounds=5,
                              warmup_rounds=1) == 10 * N_BLOCKS


@pytest.mark.benchmark(group="open GGUF (262,144 tokens, 300 tensors)")
def test_bench_open_gguf_reader(benchmark, bench_file):
    benchmark.extra_info.update(impl="gguf-py", what="GGUFReader(path)")
    reader = benchmark.pedantic(GGUFReader, args=(bench_file,), rounds=2, iterations=1)
    assert len(reader.tensors) == 10 * N_BLOCKS
