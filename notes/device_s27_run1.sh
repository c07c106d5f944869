# Session 27, run 1 (H200): every GPU test on the submitted code (session 26's
# cluster cap had not run there), then probes xrst and readpdl.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
git log --oneline -1
timeout 150 python3 notes/probe_s27.py xrst:2 readpdl > $OUT/probe.txt 2>&1; echo "probe rc=$?"
timeout 400 python3 -m pytest tests -q -p no:cacheprovider -rs --ignore=tests/test_compile.py > $OUT/tests.txt 2>&1; echo "tests rc=$?"
tail -5 $OUT/tests.txt; cat $OUT/probe.txt | tail -80
