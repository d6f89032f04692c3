#!/usr/bin/env python3
"""Clients for `scripts/proxy-check.sh`: C loops through the proxy until the deadline, one of them uploading a video and
one of them a WebSocket stream of frames, the rest posting photos. Writes one JSON line per request to RECORDS (kind,
start and end in epoch seconds, status, whether a 503 carried Retry-After) and prints a summary. Standard library only.

Usage: proxy-traffic.py HOST PORT PREFIX SECONDS CONCURRENCY PHOTO FRAME VIDEO RECORDS
A status of "hung" is a request with no answer within its timeout (the service's 30-s request deadline plus a margin);
"closed" is a stream the proxy cut (its replica died): the client reconnects, as a page would.
"""
import base64, http.client, json, os, socket, sys, threading, time, uuid

host, port, prefix, seconds, concurrency = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4]), int(sys.argv[5])
photo, frame, video = (open(path, "rb").read() for path in sys.argv[6:9])
records = open(sys.argv[9], "w")
deadline = time.time() + seconds
lock = threading.Lock()
TIMEOUT = 35


def record(kind, start, status, retry_after=None):
    with lock:
        records.write(json.dumps({"kind": kind, "start": start, "end": time.time(), "status": status, "retryAfter": retry_after}) + "\n")


def multipart(field, name, content_type, data):
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{name}\"\r\nContent-Type: {content_type}\r\n\r\n".encode()
            + data + f"\r\n--{boundary}--\r\n".encode())
    return body, f"multipart/form-data; boundary={boundary}"


def post(kind, path, body, content_type, timeout):
    start = time.time()
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("POST", prefix + path, body, {"Content-Type": content_type})
        response = connection.getresponse()
        response.read()
        record(kind, start, response.status, response.getheader("Retry-After") is not None if response.status == 503 else None)
    except (TimeoutError, socket.timeout):
        record(kind, start, "hung")
    except (OSError, http.client.HTTPException):
        record(kind, start, "reset")
    finally:
        connection.close()


def photos():
    body, content_type = multipart("images", "photo.png", "image/png", photo)
    while time.time() < deadline:
        post("photo", "/api/emotions", body, content_type, TIMEOUT)


def videos():
    body, content_type = multipart("video", "clip.mp4", "video/mp4", video)
    while time.time() < deadline:
        post("video", "/api/emotions/video", body, content_type, 90)


def ws_frame(payload, opcode=2):
    mask = os.urandom(4)
    n = len(payload)
    length = bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + n.to_bytes(2, "big") if n < 65536 else bytes([0x80 | 127]) + n.to_bytes(8, "big")
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes((mask * (n // 4 + 1))[:n], "big")).to_bytes(n, "big")
    return bytes([0x80 | opcode]) + length + mask + masked


def ws_message(reader):
    """The next text or binary message, or None when the server closed the stream."""
    while True:
        head = reader.read(2)
        if len(head) < 2:
            return None
        n = head[1] & 0x7F
        if n == 126:
            n = int.from_bytes(reader.read(2), "big")
        elif n == 127:
            n = int.from_bytes(reader.read(8), "big")
        payload = reader.read(n)
        if len(payload) < n or head[0] & 0x0F == 8:
            return None
        if head[0] & 0x0F in (1, 2):
            return payload


def stream():
    while time.time() < deadline:
        start = time.time()
        try:
            s = socket.create_connection((host, port), timeout=TIMEOUT)
        except OSError:
            record("stream", start, "reset")
            time.sleep(0.2)
            continue
        try:
            key = base64.b64encode(os.urandom(16)).decode()
            # With the Origin the page served through the proxy sends: the replica checks it against the Host.
            s.sendall((f"GET {prefix}/api/emotions/stream HTTP/1.1\r\nHost: {host}:{port}\r\nOrigin: http://{host}:{port}\r\n"
                       f"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                       f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
            reader = s.makefile("rb")
            status = int(reader.readline().split()[1])
            retry_after = False
            while (line := reader.readline().strip()):
                retry_after |= line.lower().startswith(b"retry-after:")
            if status != 101:
                record("stream", start, status, retry_after if status == 503 else None)
                time.sleep(0.2)
                continue
            while time.time() < deadline:
                start = time.time()
                s.sendall(ws_frame(frame))
                if ws_message(reader) is None:
                    record("stream", start, "closed")
                    break
                record("stream", start, 200)
            else:
                s.sendall(ws_frame(b"\x03\xe8", opcode=8))
        except (TimeoutError, socket.timeout):
            record("stream", start, "hung")
        except (OSError, ValueError, IndexError):
            record("stream", start, "closed")
        finally:
            s.close()


workers = [threading.Thread(target=videos), threading.Thread(target=stream)] + [threading.Thread(target=photos) for _ in range(concurrency - 2)]
for worker in workers:
    worker.start()
for worker in workers:
    worker.join()
records.close()
