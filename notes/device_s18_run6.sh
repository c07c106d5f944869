# Session 18, run 6 (H200): the final code (commit 63b6ad2 and notes after
# it): every GPU test (tests/test_compile.py needs Debian's hiprtc and runs in
# CI), the automatic path at K = 6144 / 8192.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 400 python3 -m pytest tests -q -p no:cacheprovider -rs --ignore=tests/test_compile.py > $OUT/t_all.txt 2>&1; echo "tests rc=$?"; tail -1 $OUT/t_all.txt; grep -m8 -E "^FAILED|^ERROR|^SKIPPED" $OUT/t_all.txt
timeout 60 python3 - > $OUT/auto_k.txt 2>&1 <<'PY'
import sys; sys.path.insert(0, "benchmarks")
from test_bench_matmul import get_bench
b = get_bench()
for shape in [(4096, 6144), (4096, 8192)]:
    tb, _ = b.cublas_time(shape, 512)
    r, _ = b.measure(shape, 512, "float16", None)
    print(f"{shape} M=512 float16 auto: {r['time_us']:.2f} us ({r['time_us'] / (tb * 1e6):.3f}x cuBLAS)", flush=True)
PY
echo "auto rc=$?"; cat $OUT/auto_k.txt
