"""engines.py - the real engines the engine tests start on loopback: llama.cpp's llama-server serving a
tiny GGUF written here (random weights; tests/llama/compare.py's writer) and Debian's espeak-ng behind
tts_espeak.py. Shared by real_test.py (the gate) and probe_real_test.py (mlgate-probe)."""
import os, shutil, subprocess, sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, ".."))
from checks import free_port  # noqa: E402

SKIPPED = "neither llama-server (scripts/test-tools.sh) nor espeak-ng (apt-get install espeak-ng): skipped"


def find():
    """(llama-server's path or None, whether espeak-ng is here). llama-server counts only with the GGUF
    writer (gguf and numpy in the venv)."""
    server = os.environ.get("MLGATE_LLAMA_SERVER") or os.path.expanduser("~/.cache/mlgate/llama/bin/llama-server")
    if os.access(server, os.X_OK):
        try:
            sys.path.insert(0, os.path.join(here, "..", "llama"))
            import compare  # noqa: F401  (exits 77 without gguf/numpy)
        except SystemExit:
            server = None
    else:
        server = None
    return server, shutil.which("espeak-ng") is not None


def start_espeak(silent=False):
    """An OpenAI-compatible speech endpoint over espeak-ng (at volume 0 with silent): (process, port)."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, os.path.join(here, "tts_espeak.py"), str(port)]
                            + (["--silent"] if silent else []))
    return proc, port


def start_llama(server, d):
    """llama-server on a tiny GGUF written into d: (process, port, the GGUF's path); its log in d."""
    import compare
    port = free_port()
    gguf = os.path.join(d, "tiny-llama.gguf")
    compare.write(gguf, "llama", 2, 128, 4, 2, 256, compare.gguf.GGMLQuantizationType.F16, False)
    log = open(os.path.join(d, "llama-server.log"), "w")
    proc = subprocess.Popen([server, "-m", gguf, "-c", "512", "-t", "2", "--host", "127.0.0.1", "--port", str(port),
                             "-np", "1"], stdout=log, stderr=subprocess.STDOUT)
    return proc, port, gguf
