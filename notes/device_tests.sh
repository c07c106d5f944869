# Device run A: every GPU test, the demo on the GPU.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
timeout 300 python3 -m pytest tests/test_gpu_dequant.py tests/test_matmul.py -q -p no:cacheprovider > $OUT/gpu_tests.txt 2>&1; echo "dequant+matmul tests rc=$?"; tail -4 $OUT/gpu_tests.txt
timeout 150 python3 -m pytest tests/test_gpu_loader.py -q -p no:cacheprovider > $OUT/loader_tests.txt 2>&1; echo "loader tests rc=$?"; tail -4 $OUT/loader_tests.txt
timeout 60 python3 -m cupyquant demo > $OUT/demo.txt 2>&1; echo "demo rc=$?"; head -4 $OUT/demo.txt; tail -6 $OUT/demo.txt
grep -E "FAILED|Error" $OUT/gpu_tests.txt $OUT/loader_tests.txt | head -20
