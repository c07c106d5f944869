"""Helpers shared by the device probes (from session 14 on; probe_s12.py and
probe_s13.py keep their own copies, as they ran)."""


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
