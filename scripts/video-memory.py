#!/usr/bin/env python3
"""Memory of the service and its video decoders under many large videos at once (issue 39), standard library only.

scripts/video-memory.py [--dll PATH] [--clients 8] [--settings KEY=VALUE ...]

Builds nothing: run `dotnet build src/FerService.Api -c Release` first. Makes two clips with ffmpeg (1 s of 8192x4320
and 6 s of 1920x1080, H.264), starts the built service as its own process on loopback, under the heap limit .NET sets
in the compose file's 1 GiB container (DOTNET_GCHeapHardLimit=0x30000000) and the repository's models, and posts each
clip from --clients clients at once (each client posts its clip three times in a row). Every 20 ms it sums VmRSS of the
service and all its descendant processes (the ffmpeg and ffprobe decoders), and the bytes of the uploads in the temporary
folder (on a tmpfs in the container, where they count against the same memory limit). Prints one JSON object: statuses
per clip, the 5xx answers other than 503 with Retry-After, the peak combined RSS, the most decoders seen at once, the
host's `lscpu` model name and flags. Exits 1 when the peak is 900 MiB or more or any such 5xx was answered.
"""
import argparse, collections, http.client, json, os, socket, subprocess, sys, tempfile, threading, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BOUNDARY = "videomemoryboundary"
LIMIT_MIB = 900


def clip(directory, name, size, seconds, rate):
    path = os.path.join(directory, name)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={seconds}",
                    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", path], check=True)
    return path


def children():
    """pid -> parent pid for every process."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    text = stat.read()
                parents[int(entry)] = int(text[text.rindex(")") + 2:].split()[1])
            except (OSError, ValueError):
                pass
    return parents


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Sampler(threading.Thread):
    """Peak of the combined RSS of a process tree, of its decoder count and of the uploads' bytes on disk."""

    def __init__(self, root, temp):
        super().__init__(daemon=True)
        self.root, self.temp, self.stop = root, temp, threading.Event()
        self.peak_kib = self.peak_service_kib = self.peak_decoders = self.peak_upload_bytes = 0

    def run(self):
        while not self.stop.is_set():
            parents = children()
            tree, frontier = {self.root}, [self.root]
            while frontier:
                parent = frontier.pop()
                for pid, ppid in parents.items():
                    if ppid == parent and pid not in tree:
                        tree.add(pid)
                        frontier.append(pid)
            service = rss_kib(self.root)
            self.peak_service_kib = max(self.peak_service_kib, service)
            self.peak_kib = max(self.peak_kib, service + sum(rss_kib(pid) for pid in tree - {self.root}))
            self.peak_decoders = max(self.peak_decoders, len(tree) - 1)
            uploads = 0
            for name in os.listdir(self.temp):
                if name.startswith("fer-video-"):
                    try:
                        uploads += os.path.getsize(os.path.join(self.temp, name))
                    except OSError:
                        pass
            self.peak_upload_bytes = max(self.peak_upload_bytes, uploads)
            time.sleep(0.02)


def post(port, data, results, label):
    body = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"video\"; filename=\"clip.mp4\"\r\n"
            f"Content-Type: video/mp4\r\n\r\n").encode() + data + f"\r\n--{BOUNDARY}--\r\n".encode()
    for _ in range(3):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        try:
            connection.request("POST", "/api/emotions/video", body, {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
            response = connection.getresponse()
            answer = response.read()
            retry = response.getheader("Retry-After")
            status = response.status
        except OSError as error:
            status, retry, answer = f"error {error}", None, b""
        finally:
            connection.close()
        results.append((label, status, retry, answer[:300].decode(errors="replace")))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu():
    info = dict(line.split(":", 1) for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines() if ":" in line)
    flags = info.get("Flags", "").split()
    return {"model": info.get("Model name", "?").strip(), "cpus": os.cpu_count(),
            "flags": [f for f in flags if f.startswith(("avx", "sse4", "fma", "amx")) or f.endswith("vnni")]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dll", default=os.path.join(ROOT, "src/FerService.Api/bin/Release/net10.0/FerService.Api.dll"))
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--settings", nargs="*", default=[], help="extra service options, e.g. Fer:Video:MaxPixelsPerFrame=35389440")
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="video-memory-")
    temp = os.path.join(work, "tmp")
    os.mkdir(temp)
    clips = {"8192x4320": clip(work, "8k.mp4", "8192x4320", 1, 10), "1920x1080": clip(work, "hd.mp4", "1920x1080", 6, 25)}
    port = free_port()
    environment = dict(os.environ, DOTNET_GCHeapHardLimit="0x30000000", TMPDIR=temp,
                       Fer__Models__ClassifierManifest=os.path.join(ROOT, "models/emotion-fer2013-int8.json"),
                       Fer__Detection__ModelPath=os.path.join(ROOT, "models/yunet_n_dynamic.onnx"))
    command = ["dotnet", args.dll, "--urls", f"http://127.0.0.1:{port}"] + [f"--{setting}" for setting in args.settings]
    service = subprocess.Popen(command, cwd=os.path.dirname(args.dll), env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                connection.request("GET", "/health/ready")
                if connection.getresponse().status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        else:
            sys.exit("the service was not ready within 120 s")
        sampler = Sampler(service.pid, temp)
        sampler.start()
        results, started = [], time.time()
        for label, path in clips.items():
            data = open(path, "rb").read()
            threads = [threading.Thread(target=post, args=(port, data, results, label)) for _ in range(args.clients)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        sampler.stop.set()
        sampler.join()
    finally:
        service.terminate()
        service.wait(timeout=60)
    statuses = collections.defaultdict(collections.Counter)
    for label, status, retry, _ in results:
        statuses[label][f"{status}{' Retry-After' if retry else ''}"] += 1
    bad = [r for r in results if not isinstance(r[1], int) or (r[1] >= 500 and not (r[1] == 503 and r[2]))]
    report = {
        "clips": {label: os.path.getsize(path) for label, path in clips.items()},
        "clients": args.clients, "settings": args.settings, "seconds": round(time.time() - started, 1),
        "statuses": {label: dict(counter) for label, counter in statuses.items()},
        "sample413": next((r[3] for r in results if r[1] == 413), None),
        "bad5xx": len(bad), "badSamples": bad[:3],
        "peakRssMiB": round(sampler.peak_kib / 1024), "peakServiceRssMiB": round(sampler.peak_service_kib / 1024),
        "peakDecoders": sampler.peak_decoders, "peakUploadMiB": round(sampler.peak_upload_bytes / 1048576, 1),
        "cpu": cpu(),
    }
    print(json.dumps(report))
    subprocess.run(["rm", "-rf", work], check=False)
    sys.exit(1 if bad or sampler.peak_kib / 1024 >= LIMIT_MIB else 0)


if __name__ == "__main__":
    main()
