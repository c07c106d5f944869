# Session 44 call C (warm machine after call A): both staged patches applied in the working tree, with the test-side
# fixes for call A's 250 failures (name assertion, spy signature, config spy). The wgmma / PDL tests again, then
# probe_s40 xconv, the matmul benchmark, and the host-time benchmark with and without the launch packing, alternately.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit
export PYTHONUNBUFFERED=1 CUPY_CACHE_DIR=$PWD/build/cupy_cache
t0=$(date +%s)
ls build/before/cupyquant/__init__.py || exit 4
timeout 120 python3 -m pytest tests/test_matmul.py tests/test_launch.py -q -p no:cacheprovider -rs -k "wgmma or dependent or early_scheduled or packed or configs" > $OUT/tests.txt 2>&1; echo "tests rc=$? $(( $(date +%s)-t0 )) s"; grep -E "^(FAILED|ERROR)|^E " $OUT/tests.txt | head -10 | cut -c1-300; tail -2 $OUT/tests.txt | cut -c1-300
timeout 130 python3 -u notes/probe_s40.py xconv:2 > $OUT/probe_xconv.txt 2>&1; echo "xconv rc=$? $(( $(date +%s)-t0 )) s"; cut -c1-200 $OUT/probe_xconv.txt
cd benchmarks && timeout 110 python3 test_bench_matmul.py --json $OUT/bench_matmul.json > $OUT/bench_matmul.txt 2>&1; echo "bench rc=$? $(( $(date +%s)-t0 )) s"; tail -40 $OUT/bench_matmul.txt
for run in 1_patched 2_before 3_before 4_patched; do
  if [ ${run#*_} = before ]; then pp=$PWD/../build/before:$PYTHONPATH; else pp=$PYTHONPATH; fi
  PYTHONPATH=$pp timeout 45 python3 test_bench_matmul_host.py > $OUT/host_$run.txt 2>&1; echo "host bench ($run) rc=$? $(( $(date +%s)-t0 )) s"; cut -c1-200 $OUT/host_$run.txt
done
