# Session 39, run 3 (H200): session 38's NVRTC A/B (notes/device_s38_nvrtc.sh: spills and M = 1 / 8 float16, M = 1
# float32 times under the device's NVRTC and under 13.5.37), then probe_s39 conv (float32 x at M = 512: the
# conversion's share). Carry [".whl", ".nvrtc"].
bash notes/device_s38_nvrtc.sh
export PYTHONPATH=/tmp/site:$PWD CUPY_CACHE_DIR=$PWD/build/cupy_cache
timeout 150 python3 notes/probe_s39.py conv:3 > $OUT/probe_conv.txt 2>&1; echo "conv rc=$?"; cat $OUT/probe_conv.txt
