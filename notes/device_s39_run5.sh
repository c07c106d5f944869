# Session 39, run 5 (H200) -- NEVER RAN: after run 4 the session had 205 s of device time, and `status` said no fresh machine could be started (can_start_another false). For the next session: probe_s39 f32m1q and f32geo, printed as they go.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit
python3 -u notes/probe_s39.py f32m1q:2 f32geo:2 2>&1 | tee $OUT/probe_f32geo.txt | cut -c1-200
