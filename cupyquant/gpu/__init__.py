"""The GPU side: platform detection, kernel modules, launches. Imports CuPy lazily."""
