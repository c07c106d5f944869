"""Helpers shared by the device probes (from session 14 on; probe_s12.py and
probe_s13.py keep their own copies, as they ran). module_setting and
launch_spy came from probe_s19.py (session 20).

Since session 41 ``cupyquant.qmatmul`` is a package of modules (dispatch,
matvec, mv_plan, mv_grid, wgmma, mma, dequant_gemm, runtime): these helpers
take the package as ``mm`` and set each name in the module that reads it
(owner). Probes up to probe_s39.py ran on the single module qmatmul.py and
read or set its names directly (``mm._mv_plan``): run those at their own
commits. probe_s40.py is updated."""


def owner(mm, name):
    """The module of the qmatmul package ``mm`` whose global ``name`` its
    code reads (the one module that defines it)."""
    import types
    found = [mod for mod in vars(mm).values()
             if isinstance(mod, types.ModuleType) and mod.__name__.startswith(mm.__name__ + ".")
             and name in vars(mod) and not isinstance(vars(mod)[name], types.ModuleType)]
    found = [mod for mod in found if mod.__name__.endswith(".runtime")] or found  # runtime re-exports gpu's
    if len(found) != 1:
        raise AttributeError(f"{name}: defined in {[mod.__name__ for mod in found]} of {mm.__name__}")
    return found[0]


def ab(label, fn, settings):
    """One row: fn() under each setting (name -> callable that applies it)."""
    cells = []
    for name, apply in settings.items():
        apply()
        try:
            cells.append(f"{name} {fn()}")
        except Exception as exc:
            cells.append(f"{name} FAILED {type(exc).__name__}: {str(exc)[:80]}")
    print(label + ": " + " | ".join(cells), flush=True)


def module_setting(mm, defines=None, geometry=None, queue_kernel=("float16",)):
    """Apply: the matmul module compiled with these #defines prepended (None:
    the shipped module), MV_GEOMETRY and MV_XS_QUEUE_KERNEL; the cached
    plans dropped."""
    import cupyquant.matmul_kernels as mk
    from cupyquant.gpu.modules import get_function
    rt, plan = mm.runtime, mm.mv_plan
    real = rt.__dict__.setdefault("_probe_real_function", rt._function)
    src = "".join(f"#define {k} {v}\n" for k, v in (defines or {}).items()) + mk.matmul_source()
    key = "matmul:probe:" + ",".join(f"{k}={v}" for k, v in (defines or {}).items())

    def apply():
        rt._function = real if not defines else (lambda name: get_function(key, src, name))
        plan.MV_GEOMETRY = geometry
        plan.MV_XS_QUEUE_KERNEL = queue_kernel
        mm.matvec._mv_plans.clear()
    return apply


def knob_setting(mm, **knobs):
    """Apply: the module's knobs (name=value) set and its cached plans
    dropped. From session 28 (its parts capab, capgeo and m1split ran with
    their own copies of this, same effect)."""
    def apply():
        for name, value in knobs.items():
            setattr(owner(mm, name), name, value)
        mm.matvec._mv_plans.clear()
    return apply


def launch_spy(mm, prefix="cq_q4_0_mv_tc_", with_cluster=False):
    """last["k"]: (kernel name without ``prefix``, grid[, cluster]) of the
    module's latest launch."""
    last = {}
    real_launch = mm.runtime.launch

    def spy(kern, grid, *args, **kw):
        last["k"] = (kern.name.replace(prefix, ""), tuple(grid)) + ((kw.get("cluster"),) if with_cluster else ())
        return real_launch(kern, grid, *args, **kw)
    mm.runtime.launch = spy
    return last


def bench_cell(bench, launched, x_dtype="float16"):
    """cell(shape, m) -> fn() for ab: the matmul benchmark's time of (shape,
    m) and launch_spy's latest launch (kernel name after "_n1_", grid[,
    cluster]). From session 27 (its parts xrst, xrplan and early ran with
    their own copies of this, same output)."""
    def cell(shape, m):
        def fn():
            r, _ = bench.measure(shape, m, x_dtype, None)
            k = launched["k"]
            return f"{r['time_us']:.2f} {k[0].split('_n1_')[-1]} " + " ".join(str(v) for v in k[1:])
        return fn
    return cell


def ab_rounds(shapes, ms, settings, cell, rounds):
    """ab rows "r<round> <N>x<K> M=<m>" over shapes x ms, ``rounds`` times,
    the settings in reverse order in odd rounds."""
    for rnd in range(int(rounds)):
        order = settings if rnd % 2 == 0 else dict(reversed(list(settings.items())))
        for shape in shapes:
            for m in ms:
                ab(f"r{rnd} {shape[0]}x{shape[1]} M={m}", cell(shape, m), order)


def run_parts(namespace, args):
    """Run a probe's parts named on the command line ("part[:v1,v2]" calls
    part_<part>(v1, v2)), as every probe's __main__ did (session 36 on)."""
    for arg in args:
        part, _, val = arg.partition(":")
        print(f"=== {arg}", flush=True)
        fn = namespace["part_" + part]
        fn(*val.split(",")) if val else fn()


def bench_with_spy(mm):
    """(the matmul benchmark's Bench, launch_spy(mm)), the copy ceiling
    printed first: the start of every matmul probe part (session 36 on;
    earlier probes kept their own copies, as they ran)."""
    from test_bench_matmul import get_bench
    bench = get_bench()
    print(f"copy {bench.ceiling() / 1e9:.0f} GB/s", flush=True)
    return bench, launch_spy(mm)
