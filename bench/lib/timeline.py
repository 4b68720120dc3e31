"""One path of a hub under 8 concurrent clients (threads, one request at a time each, every answer
read to the end) for SECONDS: p50 / p99 / max, and when the slow requests (at or above the p99)
were sent, counted by half second from the start — a tail spread over the window is the cores
shared; one bunched in a few half seconds is something the requests waited for (a commit, a
vacuum, a checkpoint).

Usage: python3 bench/lib/timeline.py HUB TOKEN SECONDS PATH (the token as the UI's cookie)"""
import sys, threading, time, urllib.request

hub, token, secs, path = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
headers = {"Cookie": "tollgate_token=" + token}
sent = []
start = time.time()
stop = start + secs

def client():
    while time.time() < stop:
        at, t = time.time(), time.perf_counter()
        with urllib.request.urlopen(urllib.request.Request(hub + path, headers=headers)) as r:
            r.read()
            assert r.status == 200, (path, r.status)
        sent.append((at - start, (time.perf_counter() - t) * 1000))

threads = [threading.Thread(target=client) for _ in range(8)]
[t.start() for t in threads]; [t.join() for t in threads]
lat = sorted(ms for _, ms in sent)
n = len(lat)
p99 = lat[min(n - 1, int(0.99 * n))]
print("%s: %d requests, p50 %.1f ms, p99 %.1f ms, max %.1f ms" % (path, n, lat[n // 2], p99, lat[-1]))
print("started %s" % time.strftime("%H:%M:%S", time.localtime(start)))
halves = {}
for at, ms in sent:
    if ms >= p99:
        halves[int(at * 2)] = halves.get(int(at * 2), 0) + 1
print("requests at or above the p99, by half second from the start (second: count):")
print(" ".join("%.1f:%d" % (h / 2, halves.get(h, 0)) for h in range(int(secs * 2))))
