"""A render that never finishes, run in a render process (importable there: nothing of Django)."""

import time


def hang(*args: object) -> bytes:
    time.sleep(600)
    return b""
