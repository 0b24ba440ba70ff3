#!/usr/bin/env python3
"""deploy_test.py - the deployment files in deploy/ hold together with each other and with the code.

usage: deploy_test.py [MLGATE]
Parses every YAML document of deploy/k8s (apiVersion, kind, metadata, label and annotation syntax)
and checks what matters: the DaemonSet's probes hit /healthz and /readyz on the port its args listen
on, it runs as non-root with a read-only root and no capabilities, sees the GPUs without requesting
one, mounts the NFD directory it writes to; the model Deployment selects on labels that
lib/gate/publish_nfd.c really writes, for a capability the DaemonSet's matrix really has; the
Service and ServiceMonitor reach the DaemonSet's port; the systemd unit reaches /dev/nvidia* under
DevicePolicy=closed. With MLGATE, `mlgate plan` reads the ConfigMap's matrix; with systemd-analyze,
the unit is verified. Exits 77 when PyYAML is not installed.
"""
import glob, os, re, shutil, subprocess, sys, tempfile

try:
    import yaml
except ImportError:
    print("PyYAML not installed: skipped")
    sys.exit(77)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import check, result

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
K8S = os.path.join(ROOT, "deploy", "k8s")
UNIT = os.path.join(ROOT, "deploy", "systemd", "mlgate.service")
MLGATE = sys.argv[1] if len(sys.argv) > 1 else None

NAME = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "RuntimeClass"}


def key_ok(k):
    """A label or annotation key: [prefix/]name, prefix a DNS subdomain <= 253, name <= 63."""
    prefix, _, name = k.rpartition("/")
    if prefix and (len(prefix) > 253 or not DNS1123.match(prefix)):
        return False
    return 0 < len(name) <= 63 and bool(NAME.match(name))


def value_ok(v):
    return isinstance(v, str) and len(v) <= 63 and bool(NAME.match(v))


def k8s_label(text):
    """lib/gate/publish_nfd.c's mg_k8s_label for names <= 63: runs of other characters one '-', trimmed."""
    out = re.sub(r"[^A-Za-z0-9._]+", "-", text)
    out = re.sub(r"^[^A-Za-z0-9]+", "", out)
    return re.sub(r"[^A-Za-z0-9]+$", "", out)


# Every document of every manifest
docs = []
files = sorted(glob.glob(os.path.join(K8S, "*.yaml")))
check("deploy/k8s has manifests", len(files) >= 4)
for f in files:
    try:
        with open(f) as fh:
            got = [d for d in yaml.safe_load_all(fh) if d is not None]
    except yaml.YAMLError as e:
        check(f"{f}: parses ({e})", False)
        continue
    check(f"{f}: has documents", len(got) > 0)
    for d in got:
        where = f"{os.path.basename(f)}: {d.get('kind')}/{(d.get('metadata') or {}).get('name')}"
        check(f"{where}: apiVersion, kind, metadata.name",
              isinstance(d.get("apiVersion"), str) and isinstance(d.get("kind"), str)
              and isinstance((d.get("metadata") or {}).get("name"), str))
        md = d.get("metadata") or {}
        check(f"{where}: name is DNS-1123", DNS1123.match(md.get("name", "")) is not None)
        if d.get("kind") not in CLUSTER_SCOPED:
            check(f"{where}: has a namespace", isinstance(md.get("namespace"), str))
        docs.append((os.path.basename(f), d))


def walk_meta(where, obj):
    """Checks the syntax of every labels/annotations/nodeSelector/matchLabels map below obj."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k in ("labels", "matchLabels", "nodeSelector") and isinstance(v, dict):
                for lk, lv in v.items():
                    check(f"{where}: {k} key {lk!r} is a valid label key", key_ok(lk))
                    check(f"{where}: {k} {lk}={lv!r} is a valid label value (a string)", value_ok(lv))
            elif k == "annotations" and isinstance(v, dict):
                for ak, av in v.items():
                    check(f"{where}: annotation key {ak!r} is valid", key_ok(ak))
                    check(f"{where}: annotation {ak} is a string", isinstance(av, str))
            else:
                walk_meta(where, v)
    elif isinstance(obj, list):
        for x in obj:
            walk_meta(where, x)


for fname, d in docs:
    walk_meta(f"{fname}: {d['kind']}", d)


def one(kind, name=None):
    found = [d for _, d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    check(f"exactly one {kind} {name or ''}", len(found) == 1)
    return found[0] if found else {}


# The DaemonSet
ds = one("DaemonSet", "mlgate")
spec = ds.get("spec", {}).get("template", {}).get("spec", {})
pod_sc = spec.get("securityContext", {})
cs = [c for c in spec.get("containers", []) if c.get("name") == "mlgate"]
check("the DaemonSet has a container mlgate", len(cs) == 1)
c = cs[0] if cs else {}
args = c.get("args", [])
check("mlgate serve /etc/mlgate/matrix.yaml", args[:2] == ["serve", "/etc/mlgate/matrix.yaml"])


def opt(name):
    return args[args.index(name) + 1] if name in args and args.index(name) + 1 < len(args) else None


listen, token, nfd = opt("--listen"), opt("--token-file"), opt("--nfd-dir")
check(f"--listen is ADDR:PORT ({listen})", listen is not None and re.match(r"^[0-9.]+:\d+$", listen) is not None)
port = int(listen.rsplit(":", 1)[1]) if listen else None
check("the listen port is 9464", port == 9464)
if listen and not listen.startswith("127."):
    check("a non-loopback --listen has --token-file", token is not None)
ports = {p.get("name"): p.get("containerPort") for p in c.get("ports", [])}
check("the container port is the listen port", port in ports.values())


def probe_port(p):
    pp = (p or {}).get("httpGet", {}).get("port")
    return ports.get(pp) if isinstance(pp, str) else pp


check("livenessProbe: GET /healthz", (c.get("livenessProbe") or {}).get("httpGet", {}).get("path") == "/healthz")
check("readinessProbe: GET /readyz", (c.get("readinessProbe") or {}).get("httpGet", {}).get("path") == "/readyz")
check("livenessProbe on the listen port", probe_port(c.get("livenessProbe")) == port)
check("readinessProbe on the listen port", probe_port(c.get("readinessProbe")) == port)
sc = c.get("securityContext", {})
eff = lambda k: sc.get(k, pod_sc.get(k))
check("runAsNonRoot", eff("runAsNonRoot") is True)
check("runAsUser 65532", eff("runAsUser") == 65532)
check("readOnlyRootFilesystem", sc.get("readOnlyRootFilesystem") is True)
check("allowPrivilegeEscalation false", sc.get("allowPrivilegeEscalation") is False)
check("capabilities drop ALL, add none", sc.get("capabilities", {}).get("drop") == ["ALL"]
      and not sc.get("capabilities", {}).get("add"))
check("not privileged", not sc.get("privileged"))
for ic in spec.get("initContainers", []):
    isc = ic.get("securityContext", {})
    check(f"init container {ic.get('name')}: drops ALL, adds at most CHOWN",
          isc.get("capabilities", {}).get("drop") == ["ALL"]
          and set(isc.get("capabilities", {}).get("add", [])) <= {"CHOWN"} and not isc.get("privileged"))
check("GPU nodes only: nodeSelector nvidia.com/gpu.present=true",
      spec.get("nodeSelector", {}).get("nvidia.com/gpu.present") == "true")
check("runtimeClassName nvidia", spec.get("runtimeClassName") == "nvidia")
env = {e.get("name"): e.get("value") for e in c.get("env", [])}
check("NVIDIA_VISIBLE_DEVICES=all", env.get("NVIDIA_VISIBLE_DEVICES") == "all")
res = c.get("resources", {})
check("no nvidia.com/gpu requested (mlgate must not take a GPU from the scheduler)",
      not any("nvidia.com/gpu" in (res.get(k) or {}) for k in ("requests", "limits")))
check("memory request and limit set", "memory" in res.get("requests", {}) and "memory" in res.get("limits", {}))
mem = res.get("limits", {}).get("memory", "")
check(f"memory limit small ({mem})", re.match(r"^\d+Mi$", mem) is not None and int(mem[:-2]) <= 256)
mounts = {m.get("mountPath"): m.get("name") for m in c.get("volumeMounts", [])}
vols = {v.get("name"): v for v in spec.get("volumes", [])}
nfd_vol = vols.get(mounts.get(nfd), {})
check("--nfd-dir is a hostPath mount of that same host directory",
      nfd_vol.get("hostPath", {}).get("path") == nfd == "/etc/kubernetes/node-feature-discovery/features.d")
tok_vol = vols.get(mounts.get(os.path.dirname(token or "")), {})
check("--token-file is in a Secret mount", "secret" in tok_vol)
mat_vol = vols.get(mounts.get("/etc/mlgate"), {})
check("the matrix is a ConfigMap mount", "configMap" in mat_vol)

# The ConfigMap's matrix and what it turns into
cm = one("ConfigMap", mat_vol.get("configMap", {}).get("name"))
matrix_text = cm.get("data", {}).get("matrix.yaml", "")
matrix = yaml.safe_load(matrix_text) if matrix_text else {}
caps = {k8s_label("cap." + m["capability"]) for m in matrix.get("models", []) if m.get("capability")}
check(f"the matrix names capabilities ({sorted(caps)})", len(caps) > 0)
for path in (matrix.get("host", {}).get("receipts"), matrix.get("host", {}).get("capabilities")):
    check(f"the matrix writes {path} on a writable mount",
          path is not None and any(path.startswith(mp + "/") and mp not in ("/etc/mlgate",) for mp in mounts))
if MLGATE:
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as fh:
        fh.write(matrix_text)
    r = subprocess.run([MLGATE, "plan", "--vram", "24G", fh.name], capture_output=True, text=True)
    os.unlink(fh.name)
    check(f"mlgate plan reads the ConfigMap's matrix (exit {r.returncode}: {r.stderr.strip()[:200]})",
          r.returncode == 0)

# The labels publish_nfd.c writes
src = open(os.path.join(ROOT, "lib", "gate", "publish_nfd.c")).read()
written = set(re.findall(r'"(?:[^"\\]*\\n)*(mlgate\.io/[A-Za-z0-9._%-]+)=', src))
check(f"publish_nfd.c writes mlgate.io/gate and cap.* ({sorted(written)})",
      "mlgate.io/gate" in written and "mlgate.io/%s" in written and '"cap.%s"' in src)
gate_values = set(re.search(r'"mlgate\.io/gate=%s\\n",[^;]*?"(\w+)"\s*:\s*"(\w+)"', src).groups()) \
    if re.search(r'"mlgate\.io/gate=%s\\n",[^;]*?"(\w+)"\s*:\s*"(\w+)"', src) else set()
check(f"mlgate.io/gate is passed or failed ({sorted(gate_values)})", gate_values == {"passed", "failed"})
cap_value = re.search(r'"mlgate\.io/%s=(\w+)\\n"', src)

dep = one("Deployment", "llama-chat")
dspec = dep.get("spec", {}).get("template", {}).get("spec", {})
sel = dspec.get("nodeSelector", {})
check("the model Deployment selects on mlgate.io/ labels", any(k.startswith("mlgate.io/") for k in sel))
for k, v in sel.items():
    if not k.startswith("mlgate.io/"):
        continue
    name = k[len("mlgate.io/"):]
    if name == "gate":
        check(f"{k}={v}: a value publish_nfd.c writes, and the passing one", v == "passed" and v in gate_values)
    elif name.startswith("cap."):
        check(f"{k}={v}: publish_nfd.c's value for an enabled capability",
              cap_value is not None and v == cap_value.group(1))
        check(f"{k}: a capability of the DaemonSet's matrix", name in caps)
    else:
        check(f"{k}: a label publish_nfd.c writes", f"mlgate.io/{name}" in written)
mc = (dspec.get("containers") or [{}])[0]
lp = (mc.get("livenessProbe") or {}).get("exec", {}).get("command", [])
check(f"the model's livenessProbe runs /mlgate-probe --kind llm URL ({lp})",
      lp[:3] == ["/mlgate-probe", "--kind", "llm"] and len(lp) == 4)
mports = [p.get("containerPort") for p in mc.get("ports", [])]
check("the probe's URL is the model's port", len(lp) == 4 and re.match(r"^http://127\.0\.0\.1:(\d+)/v1$", lp[3])
      is not None and int(lp[3].split(":")[2].split("/")[0]) in mports)
check("the model does request a GPU", "nvidia.com/gpu" in mc.get("resources", {}).get("limits", {}))

# Service + ServiceMonitor
svc = one("Service", "mlgate")
pod_labels = ds.get("spec", {}).get("template", {}).get("metadata", {}).get("labels", {})
check("the Service selects the DaemonSet's pods",
      all(pod_labels.get(k) == v for k, v in svc.get("spec", {}).get("selector", {}).items()))
sp = (svc.get("spec", {}).get("ports") or [{}])[0]
tp = sp.get("targetPort")
check("the Service's targetPort is the listen port", (ports.get(tp) if isinstance(tp, str) else tp) == port)
check("NotReady (gate failed) pods stay scraped", svc.get("spec", {}).get("publishNotReadyAddresses") is True)
smon = one("ServiceMonitor", "mlgate")
check("the ServiceMonitor scrapes the Service's port at /metrics",
      [(e.get("port"), e.get("path")) for e in smon.get("spec", {}).get("endpoints", [])] == [(sp.get("name"), "/metrics")])
check("the ServiceMonitor selects the Service", all(svc.get("metadata", {}).get("labels", {}).get(k) == v for k, v in
      smon.get("spec", {}).get("selector", {}).get("matchLabels", {}).items()))
sec = one("Secret", tok_vol.get("secret", {}).get("secretName"))
check("the example Secret carries no token", sec.get("stringData", {}).get("token") == "")

# The systemd unit
unit = open(UNIT).read()
lines = [l.strip() for l in unit.splitlines() if l.strip() and not l.strip().startswith("#")]
kv = {}
for l in lines:
    if "=" in l:
        k, v = l.split("=", 1)
        kv.setdefault(k, []).append(v)
allow = kv.get("DeviceAllow", [])
check(f"DeviceAllow reaches nvidiactl ({allow})", any(a.split()[0] in ("/dev/nvidiactl", "char-nvidiactl") for a in allow))
check("DeviceAllow reaches the GPUs (char-nvidia) and UVM", any(a.startswith("char-nvidia ") for a in allow)
      and any(a.startswith("char-nvidia-uvm ") for a in allow))
check("DevicePolicy=closed", kv.get("DevicePolicy") == ["closed"])
check("no PrivateDevices=yes", all(v.lower() not in ("yes", "true", "1", "on") for v in kv.get("PrivateDevices", [])))
check("ExecStart: mlgate serve /etc/mlgate/matrix.yaml",
      any(v.endswith("mlgate serve /etc/mlgate/matrix.yaml") for v in kv.get("ExecStart", [])))
check("ExecReload sends SIGHUP", kv.get("ExecReload") == ["/bin/kill -HUP $MAINPID"])
check("not root", kv.get("User", ["root"])[0] not in ("root", "0") or kv.get("DynamicUser") == ["yes"])
for k, v in (("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"), ("ProtectHome", "yes"), ("PrivateTmp", "yes"),
             ("StateDirectory", "mlgate"), ("Restart", "on-failure"), ("MemoryMax", "256M"),
             ("SystemCallFilter", "@system-service")):
    check(f"{k}={v}", kv.get(k) == [v])
check("ReadWritePaths has the NFD directory",
      any("/etc/kubernetes/node-feature-discovery/features.d" in v for v in kv.get("ReadWritePaths", [])))
if shutil.which("systemd-analyze"):
    with tempfile.TemporaryDirectory() as d:
        exe = shutil.which("true")
        with open(os.path.join(d, "mlgate.service"), "w") as fh:
            fh.write(unit.replace("/usr/local/bin/mlgate", exe))
        r = subprocess.run(["systemd-analyze", "verify", "--man=no", os.path.join(d, "mlgate.service")],
                           capture_output=True, text=True)
        check(f"systemd-analyze verify (exit {r.returncode}): {r.stderr.strip()}", r.returncode == 0 and not r.stderr.strip())
else:
    print("systemd-analyze not installed: the unit's syntax not verified")

sys.exit(result())
