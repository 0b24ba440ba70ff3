"""checks.py - the pass/fail tally the Python tests share: check() each claim, then exit with result()."""
import os

passed = failed = 0


def check(what, ok):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL", what)
    if ok and os.environ.get("CHECKS_VERBOSE"):
        print("ok  ", what)


def result():
    """Prints the tally; 1 if anything failed (the exit status), else 0."""
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0
