# Session 20, run 7 (H200): probe part bps (K split for grids whose tiles are
# not a whole number of waves: MV_BLOCKS_PER_SM 0.5 / 2 / 3). The ncu run
# first planned as run 7 was refused a machine and dropped for lack of
# device time.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 200 python3 notes/probe_s20.py bps > $OUT/probe_bps.txt 2>&1; echo "probe bps rc=$?"; cat $OUT/probe_bps.txt
