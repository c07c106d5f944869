# Session 9, run 5 (H200): the int8 tensor-core matrix-vector kernel (helper's
# q4_0_matvec_int8.hip): (a) every matmul test, (b) the matmul benchmark table
# (auto path = int8 for M <= 8, next to the previous float16 tensor-core kernel),
# (c) its split-K fill sweep.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 300 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -x > $OUT/t_matmul.txt 2>&1; echo "matmul tests rc=$?"; tail -3 $OUT/t_matmul.txt; grep -m8 -E "^FAILED|^ERROR|Error:" $OUT/t_matmul.txt
timeout 200 python3 benchmarks/test_bench_matmul.py --json $OUT/matmul_ab.json 2>&1 | tee $OUT/bench_matmul_ab.txt
timeout 60 python3 notes/probe_s9_mvi8.py 2>&1 | tee $OUT/probe_mvi8_fill.txt
