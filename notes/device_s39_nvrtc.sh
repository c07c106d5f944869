# Session 39: notes/device_s38_nvrtc.sh with NVRTC 13.5.37's two libraries from a tar.xz (.nvrtc135/nvrtc135.tar.xz, 41.5 MB: the wheel, 56 MB, and the tree passed the 64 MiB carry limit). Optional third call, after notes/device_s37_run1.sh and run2.sh on the same machine; carry [".whl", ".nvrtc"] (.nvrtc: the nvidia_cuda_nvrtc-13.5.37 wheel, 58 MB, `pip download 'nvidia-cuda-nvrtc==13.5.*' --no-deps -d .nvrtc`). Question: NVRTC 13.5 spills 4-36 bytes in the shipped M = 1 kernels at their 48-register bound where the device's 13.0.88 spilled none (notes/probe_s38.py); what does that cost? About 5 minutes (the matmul module compiles cold under 13.5).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit
mkdir -p /tmp/nvrtc135 && tar xJf .nvrtc135/nvrtc135.tar.xz -C /tmp/nvrtc135 || exit
LIB135=/tmp/nvrtc135/nvidia/cu13/lib
ls $LIB135
DEV_NVRTC=$(ls /usr/local/cuda/lib64/libnvrtc.so.13.* 2>/dev/null | head -1); echo "device NVRTC: $DEV_NVRTC"
CUPYQUANT_NVRTC=$DEV_NVRTC timeout 60 python3 notes/probe_s38.py spills > $OUT/spills_device_nvrtc.txt 2>&1; echo "spills rc=$?"; head -1 $OUT/spills_device_nvrtc.txt
CUPYQUANT_NVRTC=$LIB135/libnvrtc.so.13 LD_LIBRARY_PATH=$LIB135 timeout 60 python3 notes/probe_s38.py spills > $OUT/spills_135.txt 2>&1; echo "spills 13.5 rc=$?"; head -1 $OUT/spills_135.txt
paste $OUT/spills_device_nvrtc.txt $OUT/spills_135.txt | grep -v "stores   0 loads   0.*stores   0 loads   0" | cut -c1-200
CUPY_CACHE_DIR=$PWD/build/cupy_cache timeout 150 python3 notes/probe_s38.py mv:2 > $OUT/mv_device_nvrtc.txt 2>&1; echo "mv rc=$?"; cat $OUT/mv_device_nvrtc.txt
CUPY_CACHE_DIR=$PWD/build/cupy_cache_135 LD_LIBRARY_PATH=$LIB135 LD_PRELOAD=$LIB135/libnvrtc.so.13 timeout 260 python3 notes/probe_s38.py mv:2 > $OUT/mv_135.txt 2>&1; echo "mv 13.5 rc=$?"; cat $OUT/mv_135.txt
