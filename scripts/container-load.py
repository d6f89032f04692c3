#!/usr/bin/env python3
"""Traffic for scripts/container-smoke.sh, standard library only (no WebSocket client package needed).

load URL SECONDS PHOTO_DIR VIDEO: 8 concurrent clients for SECONDS: 6 posting photos of mixed sizes in turn to
  /api/emotions, 1 posting VIDEO to /api/emotions/video, 1 streaming the photos as frames over one WebSocket on
  /api/emotions/stream. Prints {"requests", "non200", "byKind", "failures"}.
drain URL PHOTO_DIR VIDEO CONTAINER: sends 6 photo requests (4 photos each) and 2 video uploads, checks none is
  answered yet, sends SIGTERM to CONTAINER (podman kill) and reads every answer. Prints {"inFlight", "completed"}.
limits URL BIG HD LONG SERVICE_PID: the container's own limits (issue 39): 8 posts of BIG (a stream over the pixel
  limit) and 8 of HD at once (BIG all 413, HD 200 or 503 with Retry-After); LONG at 10 fps with its ffmpeg (a process
  under SERVICE_PID, seen from the host) killed mid-run (502); two 150 MiB uploads at once into the 256 MiB tmpfs (at
  least one 503 with Retry-After, no 400 and no other 5xx). Prints {"videos", "killed", "fullDisk", "ok"}.
"""
import base64, collections, http.client, json, os, select, socket, struct, subprocess, sys, threading, time
import urllib.parse

BOUNDARY = "smokeboundary"


def multipart(parts):
    """parts: (field, filename, bytes, content type) -> multipart body."""
    body = b""
    for field, name, data, kind in parts:
        body += (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{name}\"\r\n"
                 f"Content-Type: {kind}\r\n\r\n").encode() + data + b"\r\n"
    return body + f"--{BOUNDARY}--\r\n".encode()


def request_bytes(host, path, body):
    head = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    return head + body


def photos(folder):
    names = sorted(n for n in os.listdir(folder) if n.lower().endswith((".jpg", ".jpeg", ".png")))
    return [(n, open(os.path.join(folder, n), "rb").read()) for n in names]


def kind_of(name):
    return "image/png" if name.lower().endswith(".png") else "image/jpeg"


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts = collections.Counter()
        self.failures = collections.Counter()

    def add(self, kind, ok, why=""):
        with self.lock:
            self.counts[kind] += 1
            if not ok:
                self.failures[f"{kind}: {why}"] += 1


def poster(address, path, bodies, tally, kind, deadline, start):
    conn = None
    i = start
    while time.time() < deadline:
        body = bodies[i % len(bodies)]
        i += 1
        try:
            if conn is None:
                conn = http.client.HTTPConnection(address.hostname, address.port, timeout=120)
            conn.request("POST", path, body, {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
            response = conn.getresponse()
            response.read()
            tally.add(kind, response.status == 200, str(response.status))
        except (OSError, http.client.HTTPException) as error:
            tally.add(kind, False, type(error).__name__)
            conn = None


def ws_frame(opcode, payload):
    """A client frame: FIN set, masked as RFC 6455 requires."""
    mask = os.urandom(4)
    n = len(payload)
    head = bytes([0x80 | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack(">H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack(">Q", n)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def read_exact(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def ws_read(s):
    b0, b1 = read_exact(s, 2)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack(">H", read_exact(s, 2))[0]
    elif n == 127:
        n = struct.unpack(">Q", read_exact(s, 8))[0]
    return b0 & 0x0F, read_exact(s, n)


def streamer(address, frames, tally, deadline):
    s = socket.create_connection((address.hostname, address.port), timeout=60)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET /api/emotions/stream HTTP/1.1\r\nHost: {address.netloc}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += read_exact(s, 1)
    if b" 101 " not in head.split(b"\r\n")[0]:
        tally.add("stream", False, head.split(b"\r\n")[0].decode(errors="replace"))
        return
    i = 0
    while time.time() < deadline:
        s.sendall(ws_frame(0x2, frames[i % len(frames)]))
        i += 1
        try:
            opcode, payload = ws_read(s)
        except OSError as error:
            tally.add("stream", False, type(error).__name__)
            return
        ok = opcode == 0x1 and json.loads(payload).get("error") is None
        tally.add("stream", ok, "close" if opcode == 0x8 else payload[:80].decode(errors="replace"))
        if opcode == 0x8:
            return
    s.sendall(ws_frame(0x8, struct.pack(">H", 1000)))
    s.close()


def load(url, seconds, photo_dir, video):
    address = urllib.parse.urlsplit(url)
    images = photos(photo_dir)
    bodies = [multipart([("images", n, d, kind_of(n))]) for n, d in images]
    video_body = multipart([("video", os.path.basename(video), open(video, "rb").read(), "video/mp4")])
    frames = [d for n, d in images if kind_of(n) == "image/jpeg" and len(d) < 4 << 20]
    tally = Tally()
    deadline = time.time() + seconds
    threads = [threading.Thread(target=poster, args=(address, "/api/emotions", bodies, tally, "photo", deadline, k * 7))
               for k in range(6)]
    threads.append(threading.Thread(target=poster,
                                    args=(address, "/api/emotions/video", [video_body], tally, "video", deadline, 0)))
    threads.append(threading.Thread(target=streamer, args=(address, frames, tally, deadline)))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    requests = sum(tally.counts.values())
    non200 = sum(tally.failures.values())
    if tally.counts["video"] == 0 or tally.counts["stream"] == 0:
        non200 += 1  # a kind that never completed counts as a failure
    print(json.dumps({"requests": requests, "non200": non200, "byKind": dict(tally.counts),
                      "failures": dict(tally.failures)}))


def drain(url, photo_dir, video, container):
    address = urllib.parse.urlsplit(url)
    images = sorted(photos(photo_dir), key=lambda p: -len(p[1]))[:4]
    bodies = [multipart([("images", n, d, kind_of(n)) for n, d in images])] * 6
    bodies += [multipart([("video", os.path.basename(video), open(video, "rb").read(), "video/mp4")])] * 2
    paths = ["/api/emotions"] * 6 + ["/api/emotions/video"] * 2
    sockets = []
    for path, body in zip(paths, bodies):
        s = socket.create_connection((address.hostname, address.port), timeout=60)
        s.sendall(request_bytes(address.netloc, path, body))
        sockets.append(s)
    time.sleep(0.3)  # let Kestrel accept and start reading every one
    answered, _, _ = select.select(sockets, [], [], 0)
    in_flight = len(sockets) - len(answered)
    subprocess.run(["podman", "kill", "--signal", "TERM", container], check=True, stdout=subprocess.DEVNULL)
    completed = 0  # of those in flight at the signal, answered 200
    statuses = []
    for s in sockets:
        try:
            response = http.client.HTTPResponse(s)
            response.begin()
            response.read()
            statuses.append(response.status)
            completed += response.status == 200 and s not in answered
        except (OSError, http.client.HTTPException) as error:
            statuses.append(type(error).__name__)
        s.close()
    print(json.dumps({"inFlight": in_flight, "completed": completed, "statuses": statuses}))


def post_once(address, path, body):
    """(status, Retry-After) of one POST; the status is the error's name when no answer came."""
    conn = http.client.HTTPConnection(address.hostname, address.port, timeout=300)
    try:
        try:
            conn.request("POST", path, body, {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
        except OSError:
            pass  # the server answered before the body was sent: read what it said
        response = conn.getresponse()
        response.read()
        return response.status, response.getheader("Retry-After")
    except (OSError, http.client.HTTPException) as error:
        return type(error).__name__, None
    finally:
        conn.close()


def descendants_named(root, name):
    parents = {}
    for entry in os.listdir("/proc"):
        try:
            text = open(f"/proc/{entry}/stat").read() if entry.isdigit() else ""
        except OSError:
            continue
        if text:
            parents[int(entry)] = (int(text[text.rindex(")") + 2:].split()[1]), text[text.index("(") + 1:text.rindex(")")])
    found = []
    for pid, (ppid, comm) in parents.items():
        ancestor = ppid
        while ancestor > 1 and ancestor != root:
            ancestor = parents.get(ancestor, (0, ""))[0]
        if ancestor == root and comm == name:
            found.append(pid)
    return found


def limits(url, big, hd, long_video, service_pid):
    address = urllib.parse.urlsplit(url)
    results = []
    def run(label, path, body):
        results.append((label,) + post_once(address, path, body))
    bodies = {label: multipart([("video", os.path.basename(p), open(p, "rb").read(), "video/mp4")]) for label, p in
              (("big", big), ("hd", hd), ("long", long_video))}
    threads = [threading.Thread(target=run, args=(label, "/api/emotions/video", bodies[label])) for label in ["big", "hd"] * 8]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    videos = collections.Counter(f"{label} {status}{' Retry-After' if retry else ''}" for label, status, retry in results)
    videos_ok = all((label == "big" and status == 413) or (label == "hd" and (status == 200 or (status == 503 and retry)))
                    for label, status, retry in results)

    killed = []
    poster_thread = threading.Thread(target=lambda: killed.append(post_once(address, "/api/emotions/video?fps=10", bodies["long"])))
    poster_thread.start()
    deadline = time.time() + 30
    while time.time() < deadline and poster_thread.is_alive() and not descendants_named(service_pid, "ffmpeg"):
        time.sleep(0.05)
    time.sleep(0.5)
    for pid in descendants_named(service_pid, "ffmpeg"):
        os.kill(pid, 9)
    poster_thread.join()

    huge = multipart([("video", "huge.mp4", os.urandom(150 << 20), "video/mp4")])
    full = []
    threads = [threading.Thread(target=lambda: full.append(post_once(address, "/api/emotions/video", huge))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    full_ok = any(status == 503 and retry for status, retry in full) and all(
        status in (415, 422) or (status == 503 and retry) for status, retry in full)
    ok = videos_ok and killed[0][0] == 502 and full_ok
    print(json.dumps({"videos": dict(videos), "killed": killed[0][0], "fullDisk": [f"{s}{' Retry-After' if r else ''}" for s, r in full],
                      "ok": ok}))


if __name__ == "__main__":
    if sys.argv[1] == "load":
        load(sys.argv[2], float(sys.argv[3]), sys.argv[4], sys.argv[5])
    elif sys.argv[1] == "drain":
        drain(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5])
    elif sys.argv[1] == "limits":
        limits(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6]))
    else:
        sys.exit(__doc__)
