# Session 20, run 2 (H200): "_xsq" ships with four copying warps (CW = 4, run
# 1's "_xsq4"): every GPU test (tests/test_compile.py needs Debian's hiprtc and
# runs in CI); probe part cw2 (copying warps 3 / 5 / 6 / 8 of "_xsq", 4 / 6 of
# the one-tile float16 kernels, 4 of float32 x_shared); probe part pipe (the
# loader's pipeline without the loader).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 280 python3 -m pytest tests -q -p no:cacheprovider -rs --ignore=tests/test_compile.py > $OUT/t_all.txt 2>&1; echo "tests rc=$?"; tail -1 $OUT/t_all.txt; grep -m8 -E "^FAILED|^ERROR|^SKIPPED" $OUT/t_all.txt
timeout 220 python3 notes/probe_s20.py cw2 > $OUT/probe_cw2.txt 2>&1; echo "probe cw2 rc=$?"; cat $OUT/probe_cw2.txt
timeout 60 python3 notes/probe_s20.py pipe > $OUT/probe_pipe.txt 2>&1; echo "probe pipe rc=$?"; cat $OUT/probe_pipe.txt
