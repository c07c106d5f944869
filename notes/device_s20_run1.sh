# Session 20, run 1 (H200): matrix-vector "_xsq" with 2 / 4 / 8 copying warps
# against "_xs" (probe part cw); the loader's host side: page cache -> pinned
# fill alone and with H2D under three glibc non-temporal thresholds (probe
# part fill), and the load benchmark under the default and a 1 MiB threshold.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
(lscpu | grep -E "Model name|^CPU\(s\)|Socket|NUMA node\(s\)|L2|L3"; ldd --version | head -1; /lib64/ld-linux-x86-64.so.2 --list-tunables 2>&1 | grep -E "x86_(non_temporal|rep_movsb|rep_stosb|shared|data)"; free -g | head -2) > $OUT/host.txt 2>&1; cat $OUT/host.txt
timeout 200 python3 notes/probe_s20.py cw > $OUT/probe_cw.txt 2>&1; echo "probe cw rc=$?"; cat $OUT/probe_cw.txt
for t in "" "glibc.cpu.x86_non_temporal_threshold=0x100000" "glibc.cpu.x86_non_temporal_threshold=0x40000000"; do
  GLIBC_TUNABLES=$t timeout 60 python3 notes/probe_s20.py fill 2 >> $OUT/probe_fill.txt 2>&1; echo "probe fill rc=$?"
done; cat $OUT/probe_fill.txt
for t in "" "glibc.cpu.x86_non_temporal_threshold=0x100000"; do
  echo "== GLIBC_TUNABLES=$t" >> $OUT/bench_load.txt
  GLIBC_TUNABLES=$t timeout 90 python3 -m pytest benchmarks/test_bench_load.py --benchmark-only -q -s -p no:cacheprovider >> $OUT/bench_load.txt 2>&1; echo "load bench rc=$?"
done; grep -E "^==|^  (load|first|host|CPU|sweep)" $OUT/bench_load.txt
