# Session 39, run 3 (H200): probe_s39 conv (float32 x at M = 512: the conversion's share), then session 38's NVRTC
# A/B (notes/device_s38_nvrtc.sh: spills and M = 1 / 8 float16, M = 1 float32 times under the device's NVRTC and
# under 13.5.37; its device-NVRTC run finds the modules that conv compiled). Carry [".whl", ".nvrtc135"].
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit
CUPY_CACHE_DIR=$PWD/build/cupy_cache timeout 200 python3 notes/probe_s39.py conv:3 > $OUT/probe_conv.txt 2>&1; echo "conv rc=$?"; cat $OUT/probe_conv.txt
bash notes/device_s39_nvrtc.sh
