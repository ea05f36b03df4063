#!/usr/bin/python3
"""A mock of Alibaba's metadata endpoint for one QEMU guest (tests/vm).

QEMU runs this once per TCP connection the guest opens to
100.100.100.200:80 (user-mode networking, `guestfwd=...-cmd:`), with the
connection on stdin/stdout: nothing listens on the host, and only that VM
can reach it. Serves the flat item tree of TREE (JSON: {"token": bool or
"offered", "all": bool, "keep_alive": bool, "chunked": bool,
"slow_first_ms": N, "user_data": "text", "items": {"item": "body", ...},
"openstack": {"meta_data.json": {...}, "network_data.json": {...}}}),
directories listed from the items (one name a line, a directory's with a
trailing /), under /latest/ and under the dated version cloud-init's AliYun
source reads (/2016-01-01/); appends each request line to LOG. "token":
true requires a session token on every read (the hardened mode), "offered"
hands one out but reads without it work too (the normal mode). user-data
is served where the tree has it, else 404, as for an instance without.
An "openstack" tree is served as OpenStack's metadata service serves it,
each document under /openstack/latest/ (user_data too, from "user_data").
Replies carry a Content-Length, or are
chunked; the connection is closed when the client asks, unless keep_alive
(then only when the client closes it, as servers that keep connections
open do). The first connection of a LOG (an empty LOG) is answered only
after slow_first_ms, as an endpoint right after boot may be.

usage: metadata-server.py TREE LOG
"""
import json
import os
import sys
import time

TOKEN = "AQAEAGh0dHBzOi8vdm0tdGVzdA=="
VERSIONS = ("/latest/", "/2016-01-01/")


def listing(items, directory):
    names = []
    for item in items:
        if item.startswith(directory) and item != directory:
            rest = item[len(directory):]
            name = rest.split("/")[0] + ("/" if "/" in rest else "")
            if name not in names:
                names.append(name)
    return "\n".join(names) if names else None


def document(items):
    root = {}
    for item, body in items.items():
        parts = item.split("/")
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = body
    return json.dumps(root)


def answer(tree, method, path, headers):
    items = tree.get("items", {})
    if path.startswith("/openstack"):
        return openstack(tree, path)
    if method == "PUT" and path == "/latest/api/token":
        if tree.get("token") and "x-aliyun-ecs-metadata-token-ttl-seconds" in headers:
            return 200, TOKEN
        return 404, "not found"
    if tree.get("token") is True and headers.get("x-aliyun-ecs-metadata-token") != TOKEN:
        return 403, "token required"
    version = next((v for v in VERSIONS if path.startswith(v)), None)
    if version is None:
        return 404, "not found"
    if path == version + "user-data":
        return (200, tree["user_data"]) if "user_data" in tree else (404, "not found")
    prefix = version + "meta-data/"
    if not path.startswith(prefix):
        return 404, "not found"
    item = path[len(prefix):]
    if item == "all":
        return (200, document(items)) if tree.get("all") else (404, "not found")
    if item in items:
        return 200, items[item]
    if item.endswith("/") or item == "":
        body = listing(items, item)
        if body is not None:
            return 200, body
    return 404, "not found"


def openstack(tree, path):
    documents = tree.get("openstack", {})
    if path in ("/openstack", "/openstack/"):
        return (200, "latest") if documents else (404, "not found")
    name = path[len("/openstack/latest/"):] if path.startswith("/openstack/latest/") else None
    if name == "user_data" and "user_data" in tree:
        return 200, tree["user_data"]
    if name in documents:
        return 200, json.dumps(documents[name])
    return 404, "not found"


def main():
    tree_path, log_path = sys.argv[1], sys.argv[2]
    with open(tree_path) as f:
        tree = json.load(f)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    first = not os.path.exists(log_path) or os.path.getsize(log_path) == 0
    while True:
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            byte = stdin.read(1)
            if not byte:
                return
            head += byte
        lines = head.decode("latin-1").split("\r\n")
        method, path = (lines[0].split(" ") + ["", ""])[:2]
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        with open(log_path, "a") as log:
            log.write(lines[0] + "\n")
        if first and tree.get("slow_first_ms"):
            time.sleep(tree["slow_first_ms"] / 1000)
        first = False
        status, body = answer(tree, method, path, headers)
        data = body.encode()
        head = b"HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\n" % (status, b"OK" if status == 200 else b"Error")
        if tree.get("chunked"):
            chunks = b"".join(b"%x\r\n%s\r\n" % (len(data[i:i + 7]), data[i:i + 7]) for i in range(0, len(data), 7))
            reply = head + b"Transfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n"
        else:
            reply = head + b"Content-Length: %d\r\n\r\n" % len(data) + data
        try:
            stdout.write(reply)
            stdout.flush()
        except BrokenPipeError:
            return
        if headers.get("connection", "").lower() == "close" and not tree.get("keep_alive"):
            return


if __name__ == "__main__":
    main()
