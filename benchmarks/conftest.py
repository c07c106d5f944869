import os
import sys

# the benchmarks import their shared helpers (gpu_timing) by module name
sys.path.insert(0, os.path.dirname(__file__))
