# Session 39, run 5 (H200, the last ~230 s of the session's device time): probe_s39 f32geo, printed as it goes (the
# matmul module compiles first, 60-100 s, so the run may be cut; whatever printed comes back).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit
python3 -u notes/probe_s39.py f32geo:2 2>&1 | tee $OUT/probe_f32geo.txt | cut -c1-200
