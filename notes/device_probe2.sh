python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
python3 notes/probe_unroll.py Q4_0 F16 F32 Q8_0
python3 -m pytest tests/test_gpu_dequant.py -q -x -k "Q4_0 or F16 or F32 or BF16 or shape_dtype or cached or 2_31" 2>&1 | tail -3
