# Session 12, run 9 (H200): does CuPy's Stream.is_capturing answer on the
# legacy null stream and inside a capture (the matrix-vector PDL selector)?
python3 - <<'PY'
import cupy as cp
print("null stream capturing:", cp.cuda.get_current_stream().is_capturing())
s = cp.cuda.Stream(non_blocking=True)
with s:
    s.begin_capture()
    inside = cp.cuda.get_current_stream().is_capturing()
    a = cp.ones(4)
    g = s.end_capture()
print("inside capture:", inside)
PY
