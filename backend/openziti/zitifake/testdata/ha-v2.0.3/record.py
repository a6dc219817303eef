#!/usr/bin/env python3
"""record.py: records what a real 3-node OpenZiti v2.0.3 HA cluster (../shared/lab/ha.sh) does, into
the JSON files beside this script, which zitifake's cluster mode reproduces.

    HA=/work/ha LAB=/work/lab python3 record.py

It creates and deletes its own identities (prefix "harec-"), kills and restarts nodes by their pid
(HA/ctrlN.pid, through ha.sh) and leaves the three nodes running. Secrets (session tokens, OIDC
tokens) are replaced by placeholders before anything is written.
"""
import base64, hashlib, json, os, secrets, ssl, subprocess, sys, time, urllib.parse, urllib.request, http.client

HA = os.environ["HA"]; LAB = os.environ["LAB"]
HERE = os.path.dirname(os.path.abspath(__file__))
CA = os.path.join(HA, "qs/pki/root-ca/certs/root-ca.cert")
HASH = os.path.join(os.path.dirname(HERE), "..", "..", "..", "..", "..", "shared", "lab", "ha.sh")
HASH = os.environ.get("HASH", "/work/shared/lab/ha.sh")
ctx = ssl.create_default_context(cafile=CA)
PORT = {1: 2281, 2: 2282, 3: 2283}
secrets_seen = {}

def redact(o):
    s = json.dumps(o)
    for k, v in secrets_seen.items():
        if v: s = s.replace(v, k)
    return json.loads(s)

def req(node, method, path, body=None, token=None, bearer=None, timeout=5, raw_path=False, form=None):
    conn = http.client.HTTPSConnection("127.0.0.1", PORT[node], context=ctx, timeout=timeout)
    hdr = {"Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode(); hdr["Content-Type"] = "application/json"
    if form is not None:
        data = urllib.parse.urlencode(form).encode(); hdr["Content-Type"] = "application/x-www-form-urlencoded"
    if token: hdr["zt-session"] = token
    if bearer: hdr["Authorization"] = "Bearer " + bearer
    full = path if raw_path else "/edge/management/v1" + path
    t0 = time.monotonic()
    try:
        conn.request(method, full, body=data, headers=hdr)
        r = conn.getresponse()
        txt = r.read().decode()
        ms = round((time.monotonic() - t0) * 1000)
        try: b = json.loads(txt)
        except Exception: b = txt
        return {"status": r.status, "body": b, "headers": {k: v for k, v in r.getheaders() if k.lower() in ("location", "auth-request-id", "content-type")}, "ms": ms}
    except Exception as e:
        return {"error": type(e).__name__ + ": " + str(e), "ms": round((time.monotonic() - t0) * 1000)}
    finally:
        conn.close()

def ex(node, method, path, note, body=None, **kw):
    r = req(node, method, path, body=body, **kw)
    kw.pop("form", None)
    return {"node": "ctrl%d" % node, "request": {"method": method, "path": path if kw.get("raw_path") else "/edge/management/v1" + path, "body": body,
            "session": "zt-session" if kw.get("token") else ("bearer" if kw.get("bearer") else None)},
            "response": r, "note": note}

def login(node):
    r = req(node, "POST", "/authenticate?method=password", body={"username": "admin", "password": "admin123"})
    t = r["body"]["data"]["token"]
    secrets_seen["<zt-session-ctrl%d-%d>" % (node, len(secrets_seen))] = t
    return t, r

def oidc(node):
    ver = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    ch = base64.urlsafe_b64encode(hashlib.sha256(ver.encode()).digest()).rstrip(b"=").decode()
    redirect = "http://localhost:8080/auth/callback"
    q = urllib.parse.urlencode({"client_id": "native", "response_type": "code", "scope": "openid offline_access", "state": "s1",
        "code_challenge": ch, "code_challenge_method": "S256", "redirect_uri": redirect, "nonce": "n1"})
    r = req(node, "GET", "/oidc/authorize?" + q, raw_path=True)
    arid = r["headers"].get("auth-request-id") or r["headers"].get("Auth-Request-Id")
    if not arid and "location" in {k.lower() for k in r["headers"]}:
        loc = [v for k, v in r["headers"].items() if k.lower() == "location"][0]
        arid = urllib.parse.parse_qs(urllib.parse.urlparse(loc).query).get("authRequestID", [None])[0]
    r2 = req(node, "POST", "/oidc/login/password", raw_path=True, body={"id": arid, "username": "admin", "password": "admin123"})
    loc = [v for k, v in r2["headers"].items() if k.lower() == "location"]
    cb = urllib.parse.urlparse(loc[0])
    rc = req(node, "GET", cb.path + "?" + cb.query, raw_path=True)
    loc = [v for k, v in rc["headers"].items() if k.lower() == "location"]
    code = urllib.parse.parse_qs(urllib.parse.urlparse(loc[0]).query)["code"][0]
    r3 = req(node, "POST", "/oidc/oauth/token", raw_path=True, form={"grant_type": "authorization_code", "client_id": "native",
        "code_verifier": ver, "code": code, "redirect_uri": redirect})
    at = r3["body"]["access_token"]
    secrets_seen["<oidc-access-token>"] = at
    if r3["body"].get("refresh_token"): secrets_seen["<oidc-refresh-token>"] = r3["body"]["refresh_token"]
    if r3["body"].get("id_token"): secrets_seen["<oidc-id-token>"] = r3["body"]["id_token"]
    return at, [r["status"], r2["status"], rc["status"], r3["status"]]

def ha(*args):
    subprocess.run([HASH] + list(args), env=dict(os.environ, LAB=LAB, HA=HA), check=True, capture_output=True)

def zitipid(n):
    """the pid of node n's ziti process: ha.sh's pid file names the subshell that started it."""
    want = os.path.join(HA, "qs/ctrl%d/ctrl.yaml" % n)
    for p in os.listdir("/proc"):
        if not p.isdigit(): continue
        try: argv = open("/proc/%s/cmdline" % p, "rb").read().split(b"\0")
        except OSError: continue
        if len(argv) >= 4 and argv[1:3] == [b"controller", b"run"] and argv[3].decode() == want:
            return int(p)
    raise SystemExit("ctrl%d is not running" % n)

def kill9(n):
    pid = zitipid(n)
    os.kill(pid, 9)
    for _ in range(50):
        try: os.kill(pid, 0); time.sleep(0.1)
        except ProcessLookupError: break
    for _ in range(50):
        if not os.path.exists(os.path.join(HA, "ctrl%d.pid" % n)): break
        try: os.kill(int(open(os.path.join(HA, "ctrl%d.pid" % n)).read()), 0); time.sleep(0.1)
        except (ProcessLookupError, ValueError): break
    return pid

def save(name, obj):
    with open(os.path.join(HERE, name), "w") as f:
        json.dump(redact(obj), f, indent=1, sort_keys=False); f.write("\n")
    print("wrote", name)

def main():
    out = []
    tok = {}
    for n in (1, 2, 3):
        out.append(ex(n, "GET", "/version", "version of ctrl%d" % n))
        tok[n], _ = login(n)
    out.append(ex(1, "GET", "/controllers", "the node list, all three up", token=tok[1]))
    out.append(ex(1, "GET", "/cluster/list-members", "raft members as node 1 sees them (fabric API)", token=tok[1], raw_path=True) | {})
    out[-1]["request"]["path"] = "/fabric/v1/cluster/list-members"
    out[-1]["response"] = req(1, "GET", "/fabric/v1/cluster/list-members", token=tok[1], raw_path=True)
    out.append(ex(2, "GET", "/identities?limit=1", "node 1's legacy zt-session on node 2", token=tok[1]))
    out.append(ex(3, "GET", "/identities?limit=1", "node 1's legacy zt-session on node 3", token=tok[1]))
    out.append(ex(1, "GET", "/current-api-session", "node 1's session on node 1", token=tok[1]))
    try:
        at, steps = oidc(1)
        out.append({"note": "OIDC login on node 1: /oidc/authorize, /oidc/login/password, /oidc/authorize/callback, /oidc/oauth/token statuses", "statuses": steps})
        for n in (1, 2, 3):
            out.append(ex(n, "GET", "/identities?limit=1", "node 1's OIDC access token as Bearer on ctrl%d" % n, bearer=at))
        out.append(ex(2, "GET", "/current-api-session", "OIDC token's current-api-session on node 2", bearer=at))
    except Exception as e:
        out.append({"note": "OIDC login failed: %r" % e}); at = None
    # a write on each node and how soon the others list it
    name = "harec-w2-%d" % int(time.time())
    w = ex(2, "POST", "/identities", "create through node 2", body={"name": name, "type": "Default", "isAdmin": False}, token=tok[2])
    out.append(w)
    iid = w["response"]["body"]["data"]["id"]
    t0 = time.monotonic(); seen = None
    for _ in range(100):
        r = req(3, "GET", "/identities/" + iid, token=tok[3])
        if r.get("status") == 200: seen = round((time.monotonic() - t0) * 1000); break
        time.sleep(0.02)
    out.append({"note": "ms until node 3 lists the identity created through node 2 (polled every 20 ms)", "ms": seen})
    out.append(ex(3, "DELETE", "/identities/" + iid, "delete through node 3", token=tok[3]))
    save("01-cluster.json", out)

    # node 1 killed
    out = []
    pid = kill9(1)
    out.append({"note": "ctrl1 killed with SIGKILL (pid %d)" % pid})
    out.append(ex(1, "GET", "/version", "ctrl1 right after the kill", timeout=3))
    t0 = time.monotonic(); first = None; offl = None
    for _ in range(600):
        r = req(2, "GET", "/controllers", token=tok[2])
        d = {c["name"]: c["isOnline"] for c in r["body"]["data"]} if r.get("status") == 200 else None
        if first is None: first = ex(2, "GET", "/controllers", "node list on ctrl2 right after ctrl1's kill", token=tok[2])
        if d and not d.get("ctrl1", True): offl = round((time.monotonic() - t0) * 1000); break
        time.sleep(0.1)
    out.append(first)
    out.append({"note": "ms after the kill until ctrl2's /controllers says ctrl1 isOnline=false", "ms": offl})
    out.append(ex(2, "GET", "/controllers", "node list on ctrl2 once ctrl1 is seen offline", token=tok[2]))
    name = "harec-w3-%d" % int(time.time())
    w = ex(3, "POST", "/identities", "create through ctrl3 with ctrl1 dead (2 of 3: quorum)", body={"name": name, "type": "Default", "isAdmin": False}, token=tok[3])
    out.append(w); iid = w["response"]["body"].get("data", {}).get("id")
    out.append(ex(2, "GET", "/fabric/v1/cluster/list-members", "raft members with ctrl1 dead", token=tok[2], raw_path=True))
    # quorum lost
    pid2 = kill9(2)
    out.append({"note": "ctrl2 killed too (pid %d): only ctrl3 left" % pid2})
    time.sleep(1)
    for delay in (0, 5, 15):
        if delay: time.sleep(delay)
        out.append(ex(3, "GET", "/identities?limit=1", "read on ctrl3 without quorum (+%ds)" % delay, token=tok[3]))
        out.append(ex(3, "POST", "/identities", "create on ctrl3 without quorum (+%ds)" % delay, body={"name": name + "-nq%d" % delay, "type": "Default", "isAdmin": False}, token=tok[3], timeout=30))
    if iid:
        out.append(ex(3, "DELETE", "/identities/" + iid, "delete on ctrl3 without quorum", token=tok[3], timeout=30))
        out.append(ex(3, "PATCH", "/identities/" + iid, "patch on ctrl3 without quorum", body={"tags": {"x": "y"}}, token=tok[3], timeout=30))
        out.append(ex(3, "POST", "/enrollments", "create enrollment on ctrl3 without quorum", body={"method": "ott", "identityId": iid, "expiresAt": "2030-01-01T00:00:00Z"}, token=tok[3], timeout=30))
    out.append(ex(3, "GET", "/controllers", "node list on ctrl3 without quorum", token=tok[3]))
    out.append(ex(3, "GET", "/fabric/v1/cluster/list-members", "raft members on ctrl3 without quorum", token=tok[3], raw_path=True))
    r = req(3, "POST", "/authenticate?method=password", body={"username": "admin", "password": "admin123"})
    if r.get("status") == 200:
        secrets_seen["<zt-session-ctrl3-nq>"] = r["body"]["data"]["token"]
    out.append({"node": "ctrl3", "request": {"method": "POST", "path": "/edge/management/v1/authenticate?method=password"}, "response": r, "note": "legacy login on ctrl3 without quorum"})
    if at:
        out.append(ex(3, "GET", "/identities?limit=1", "OIDC bearer on ctrl3 without quorum", bearer=at))
    save("02-failure.json", out)

    # back up
    out = []
    t0 = time.monotonic(); ha("start", "ctrl2"); up2 = round((time.monotonic() - t0) * 1000)
    out.append({"note": "ha.sh start ctrl2: ms until its /version answers", "ms": up2})
    t0 = time.monotonic(); wok = None; attempts = []
    for i in range(120):
        r = req(3, "POST", "/identities", body={"name": name + "-back%d" % i, "type": "Default", "isAdmin": False}, token=tok[3], timeout=30)
        attempts.append({"status": r.get("status"), "ms": r["ms"], "code": (r.get("body") or {}).get("error", {}).get("code") if isinstance(r.get("body"), dict) else None})
        if r.get("status") == 201:
            wok = round((time.monotonic() - t0) * 1000); req(3, "DELETE", "/identities/" + r["body"]["data"]["id"], token=tok[3]); break
        time.sleep(0.5)
    out.append({"note": "after ctrl2 restarts: writes through ctrl3 until one succeeds (ms from ctrl2's /version answering)", "ms": wok, "attempts": attempts})
    out.append(ex(2, "GET", "/identities?limit=1", "ctrl2's old legacy zt-session after ctrl2's restart", token=tok[2]))
    t0 = time.monotonic(); ha("start", "ctrl1"); up1 = round((time.monotonic() - t0) * 1000)
    out.append({"note": "ha.sh start ctrl1: ms until its /version answers", "ms": up1})
    out.append(ex(1, "GET", "/identities?limit=1", "ctrl1's old legacy zt-session after ctrl1's restart", token=tok[1]))
    if at:
        out.append(ex(1, "GET", "/identities?limit=1", "OIDC bearer (issued by ctrl1 before its kill) on restarted ctrl1", bearer=at))
    t0 = time.monotonic(); onl = None
    for _ in range(600):
        r = req(3, "GET", "/controllers", token=tok[3])
        d = {c["name"]: c["isOnline"] for c in r["body"]["data"]} if r.get("status") == 200 else {}
        if d.get("ctrl1") and d.get("ctrl2"): onl = round((time.monotonic() - t0) * 1000); break
        time.sleep(0.1)
    out.append({"note": "ms after ctrl1's /version answers until ctrl3's /controllers says ctrl1 and ctrl2 isOnline=true", "ms": onl})
    out.append(ex(3, "GET", "/controllers", "node list on ctrl3, all back", token=tok[3]))
    # clean up what was created
    r = req(3, "GET", "/identities?" + urllib.parse.urlencode({"filter": 'name contains "harec-"', "limit": "500"}), token=tok[3])
    for x in r.get("body", {}).get("data", []):
        req(3, "DELETE", "/identities/" + x["id"], token=tok[3])
    out.append({"note": "cleaned up", "deleted": len(r.get("body", {}).get("data", []))})
    save("03-recovery.json", out)

if __name__ == "__main__":
    main()
