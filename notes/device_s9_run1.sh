# Session 9, run 1 (H200): (a) the register probe for the loader (issue 4),
# (b) ncu on the TQ1_0 and Q5_K float16 dequant kernels (session 8's run 6),
# (c) launch-bound / unroll sweep again on the four float16 formats below 0.90.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv,noheader
timeout 150 python3 notes/probe_s9_register.py 2>&1 | tee $OUT/probe_register.txt
bash notes/device_s8_run6.sh 2>&1 | tee $OUT/ncu_summary.txt
timeout 150 python3 notes/probe_s8.py dq Q5_K TQ1_0 MXFP4 Q3_K 2>&1 | tee $OUT/probe_dq.txt
rm -f /tmp/cq_register_probe.bin
