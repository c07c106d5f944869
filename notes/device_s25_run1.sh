# Session 25, run 1 (H200): probe reg (issue 4: register the file's page cache, no host copy).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
free -g | head -2
timeout 400 python3 notes/probe_s25.py reg 2>&1 | tee $OUT/probe_reg.txt | tail -60
