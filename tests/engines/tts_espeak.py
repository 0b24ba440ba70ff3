#!/usr/bin/env python3
"""tts_espeak.py - a real TTS endpoint for the gate's tests: OpenAI's POST /v1/audio/speech answered
by Debian's espeak-ng (--stdout: a streamed WAV whose data size is a placeholder, as real servers
send). GET /v1/models lists it.   usage: tts_espeak.py PORT [--silent]   (--silent: espeak-ng speaks
at volume 0, a broken voice that still returns a well-formed WAV)
"""
import http.server, json, socketserver, subprocess, sys


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, code, data, ctype):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path.rstrip("/") == "/v1/models":
            return self.send(200, json.dumps({"data": [{"id": "espeak-ng"}]}).encode(), "application/json")
        self.send(404, b"{}", "application/json")

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        if self.path.rstrip("/") != "/v1/audio/speech" or not body.get("input"):
            return self.send(400, b'{"error": "POST /v1/audio/speech with input"}', "application/json")
        args = ["espeak-ng", "--stdout", "-v", body.get("voice") or "en"]
        if "--silent" in sys.argv:
            args += ["-a", "0"]
        r = subprocess.run(args + [body["input"]], capture_output=True, timeout=30)
        if r.returncode:
            return self.send(500, json.dumps({"error": r.stderr.decode(errors="replace")}).encode(), "application/json")
        self.send(200, r.stdout, "audio/wav")


class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


if __name__ == "__main__":
    S(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
