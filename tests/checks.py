"""checks.py - what the Python tests share: the pass/fail tally (check() each claim, then exit with
result()), a free loopback port, waiting for a server to answer."""
import os, socket, time, urllib.request

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


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_up(url, secs):
    """Until url answers 200 (True), at most secs seconds (False)."""
    t0 = time.time()
    while time.time() - t0 < secs:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return True
        except OSError:
            time.sleep(0.3)
    return False
