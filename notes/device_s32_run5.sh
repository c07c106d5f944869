# Session 32, run 5 (H200): probe_s32 f32occ (float32 x_shared plans with fewer thread blocks an SM).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit
timeout 300 python3 notes/probe_s32.py f32occ:2 > $OUT/probe.txt 2>&1; echo "probe rc=$?"
cut -c1-300 $OUT/probe.txt
