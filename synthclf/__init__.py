__version__ = "0.1.0"


def __getattr__(name):
    "`synthclf.load_run` (see `synthclf.run`), imported when first asked for, so that `import synthclf` stays light."
    if name == 'load_run':
        from .run import load_run
        return load_run
    raise AttributeError(f"module 'synthclf' has no attribute {name!r}")
