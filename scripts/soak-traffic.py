#!/usr/bin/env python3
"""Hostile and slow clients for `scripts/load.sh --soak`: runs until the deadline, then prints one line per kind of
traffic with the statuses it got (0 = no answer: the server closed the connection, which Kestrel does for bodies it
gave up on). Standard library only.

Usage: soak-traffic.py HOST PORT SECONDS BODY_FILE SLOW_BODY_FILE [SLOW_CLIENTS]
Both files hold one multipart part with the boundary "loadboundary": a photo for the hostile cases to cut up, and a
small image for the slow uploads.
"""
import base64, collections, os, random, socket, sys, threading, time

host, port, seconds, body_file = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
slow_body = open(sys.argv[5], "rb").read()
slow_clients = int(sys.argv[6]) if len(sys.argv) > 6 else 30
deadline = time.monotonic() + seconds
png_body = open(body_file, "rb").read()
statuses = collections.defaultdict(collections.Counter)
lock = threading.Lock()


def record(kind, status):
    with lock:
        statuses[kind][status] += 1


def connect(timeout=30):
    s = socket.create_connection((host, port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def status_of(s):
    try:
        line = s.makefile("rb").readline()
        return int(line.split()[1]) if line.startswith(b"HTTP/1.1 ") else 0
    except (OSError, ValueError, IndexError):
        return 0


def post(head_extra, content_type, body, timeout=30):
    s = connect(timeout)
    try:
        s.sendall(f"POST /api/emotions?detect=false HTTP/1.1\r\nHost: soak\r\nContent-Type: {content_type}\r\n{head_extra}\r\n".encode() + body)
        return status_of(s)
    except OSError:
        return 0
    finally:
        s.close()


def part(name, data, field="images"):
    return (f"--b\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{name}\"\r\nContent-Type: image/png\r\n\r\n").encode() + data + b"\r\n"


def hostile_cases():
    tiny = png_body[png_body.index(b"\r\n\r\n") + 4:png_body.rindex(b"\r\n--loadboundary--")]
    many = b"".join(part(f"{i}.png", tiny[:800]) for i in range(32))
    rand = random.Random(24)
    noise = bytes(rand.randrange(256) for _ in range(4000))
    flipped = bytearray(tiny)
    flipped[len(flipped) // 2] ^= 0x10
    return [
        # 32 small parts under a Content-Length of 20 MiB, then a hang-up: reserved 640 MB per request before.
        ("declares 20 MiB, sends 32 parts, hangs up", lambda: hang_up(f"Content-Length: {20 * 1024 * 1024}\r\n", "multipart/form-data; boundary=b", many)),
        ("hangs up mid-upload", lambda: hang_up(f"Content-Length: {len(png_body)}\r\n", "multipart/form-data; boundary=loadboundary", png_body[: len(png_body) // 2])),
        ("malformed chunked framing", lambda: post("Transfer-Encoding: chunked\r\n", "multipart/form-data; boundary=b", b"zz\r\nnot a chunk\r\n0\r\n\r\n")),
        ("Content-Length and chunked, plain body", lambda: post("Content-Length: 40\r\nTransfer-Encoding: chunked\r\n", "multipart/form-data; boundary=b", b"--b\r\nplain bytes, no chunk framing at all\r\n")),
        ("JSON charset=bogus", lambda: post("Content-Length: 13\r\n", "application/json; charset=bogus", b'{"images":[]}')),
        ("JSON of the wrong shape", lambda: post("Content-Length: 15\r\n", "application/json", b'{"images":[42]}')),
        ("random bytes as an image", lambda: multipart(part("noise.png", noise) + b"--b--\r\n")),
        ("bit-flipped PNG", lambda: multipart(part("flip.png", bytes(flipped)) + b"--b--\r\n")),
        ("PNG cut in half", lambda: multipart(part("cut.png", tiny[: len(tiny) // 2]) + b"--b--\r\n")),
        ("multipart without closing boundary", lambda: multipart(part("a.png", tiny))),
        ("33 images", lambda: multipart(b"".join(part(f"{i}.png", tiny[:100]) for i in range(33)) + b"--b--\r\n")),
        ("base64 that is not", lambda: post("Content-Length: 38\r\n", "application/json", b'{"images":[{"data":"%%not-base64%%"}]}')),
    ]


def multipart(body):
    return post(f"Content-Length: {len(body)}\r\n", "multipart/form-data; boundary=b", body)


def hang_up(head_extra, content_type, body):
    s = connect()
    try:
        s.sendall(f"POST /api/emotions HTTP/1.1\r\nHost: soak\r\nContent-Type: {content_type}\r\n{head_extra}\r\n".encode() + body)
        time.sleep(0.5)
    except OSError:
        pass
    finally:
        s.close()
    return 0


def stalled_fragment():
    """Opens the stream WebSocket, sends 10 bytes of a frame that never ends and waits for the server to close it."""
    s = connect(timeout=60)
    try:
        key = base64.b64encode(os.urandom(16)).decode()
        s.sendall((f"GET /api/emotions/stream HTTP/1.1\r\nHost: soak\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        status = status_of(s)
        if status == 101:
            mask = os.urandom(4)
            s.sendall(bytes([0x02, 0x80 | 10]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(bytes(10))))
            while s.recv(4096):  # until the server closes (close frame, then FIN)
                pass
        return status
    except OSError:
        return 0
    finally:
        s.close()


def hostile():
    cases = hostile_cases()
    i = 0
    while time.monotonic() < deadline:
        name, run = cases[i % len(cases)]
        record("hostile: " + name, run())
        i += 1


def declarer():
    """Declares a 20 MiB body, sends 32 small parts, holds the connection 5 s and hangs up, again and again."""
    tiny = png_body[png_body.index(b"\r\n\r\n") + 4:][:800]
    many = b"".join(part(f"{i}.png", tiny) for i in range(32))
    while time.monotonic() < deadline:
        s = connect()
        try:
            s.sendall(f"POST /api/emotions HTTP/1.1\r\nHost: soak\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: {20 * 1024 * 1024}\r\n\r\n".encode() + many)
            time.sleep(5)
            record("hostile: declares 20 MiB, holds 32 parts 5 s, hangs up (8 loops)", 0)
        except OSError:
            record("hostile: declares 20 MiB, holds 32 parts 5 s, hangs up (8 loops)", -1)
        finally:
            s.close()


def staller():
    while time.monotonic() < deadline:
        record("hostile: stalled WebSocket fragment", stalled_fragment())


def slow():
    """An honest upload at about 300 B/s (above Kestrel's 240 B/s minimum): each takes seconds to minutes, holding a connection."""
    small = slow_body
    time.sleep(random.uniform(0, len(small) / 300))  # so the slow uploads do not all finish at once
    while time.monotonic() < deadline:
        s = connect(timeout=600)
        try:
            s.sendall(f"POST /api/emotions?detect=false HTTP/1.1\r\nHost: soak\r\nContent-Type: multipart/form-data; boundary=loadboundary\r\nContent-Length: {len(small)}\r\n\r\n".encode())
            for at in range(0, len(small), 300):
                if time.monotonic() >= deadline:
                    break
                s.sendall(small[at:at + 300])
                time.sleep(1)
            else:
                record("slow: 300 B/s upload", status_of(s))
        except OSError:
            record("slow: 300 B/s upload", 0)
        finally:
            s.close()


threads = ([threading.Thread(target=hostile) for _ in range(2)] + [threading.Thread(target=staller) for _ in range(4)]
           + [threading.Thread(target=declarer) for _ in range(8)] + [threading.Thread(target=slow) for _ in range(slow_clients)])
for t in threads:
    t.daemon = True
    t.start()
for t in threads:
    t.join(seconds + 120)
for kind in sorted(statuses):
    print(f"{kind}: " + ", ".join(f"{s} x{n}" for s, n in sorted(statuses[kind].items())))
print(f"server errors (5xx other than 503) from these clients: {sum(n for c in statuses.values() for s, n in c.items() if s >= 500 and s != 503)}")
