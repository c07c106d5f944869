# Session 31, run 5 (H200): probe_s31 m8 (other plans for 4096^2 at M = 8); every GPU test but the
# matmul file (run 4 ran it on this code) and the offline compile tests (CI runs those).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD
grep -c "read_only=True" cupyquant/gpu/loader.py
timeout 140 python3 notes/probe_s31.py m8:3 > $OUT/probe.txt 2>&1; echo "probe rc=$?"
cut -c1-400 $OUT/probe.txt
timeout 380 python3 -m pytest tests -q -p no:cacheprovider -rs --ignore=tests/test_compile.py --ignore=tests/test_matmul.py > $OUT/tests.txt 2>&1; echo "tests rc=$?"; tail -6 $OUT/tests.txt
