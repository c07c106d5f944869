# Session 9, run 6 (H200), after the final check: the implementation module was
# renamed cupyquant/matmul.py -> cupyquant/qmatmul.py (the submodule used to
# replace the public function cupyquant.matmul after its first call). Every
# matmul GPU test again, and the ncu look at both matrix-vector kernels
# that failed in the final run (it had hit that very bug).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 150 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -rs > $OUT/t_matmul.txt 2>&1; echo "matmul tests rc=$?"; tail -2 $OUT/t_matmul.txt; grep -m6 -E "^FAILED|^ERROR" $OUT/t_matmul.txt
sed -n '/^M="smsp/,/^grep -E "\^  cq_/p' notes/device_s9_final.sh > /tmp/ncu_part.sh
bash /tmp/ncu_part.sh
