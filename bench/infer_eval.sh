#!/usr/bin/env bash
# Field-boundary accuracy of `ferry infer` on the BinaryInferno evaluation samples
# (shared/data/protocols/top-level/{100,1000}/<proto>.txt.input: modbus, ntp48, dhcp, bgp,
# random), scored against Wireshark's dissectors. Results go to BENCHMARKS.md ("Message-format
# inference") and docs/inference.md ("Evaluation").
#
#   bench/infer_eval.sh [SIZE...]          # default: 100 1000; needs ferry built (build/ci)
#   FERRY_BIN=path/to/ferry FERRY_PROTOCOLS=path/to/top-level bench/infer_eval.sh 1000
#   INFER_EVAL_ARGS="--max-types 4" bench/infer_eval.sh   # extra flags for ferry infer
#   INFER_EVAL_SHOW=modbus bench/infer_eval.sh 100   # also the first messages' fields and the
#                                                      # offsets most often wrong (stderr)
#
# Ground truth: each hex line becomes one Ethernet/IPv4 packet of a pcap written here, with the
# protocol's transport and ports (Modbus/TCP 502, NTP UDP 123, DHCP UDP 67/68 by the op byte,
# BGP TCP 179; a Modbus message is sent to port 502 or from it by its function code and
# length, as the dissector reads requests and responses differently). `tshark -T pdml`
# dissects them, with TCP reassembly and sequence analysis off so that each packet is one
# message. A field's start and end (payload offsets) are boundaries; bit fields that share a
# byte give that byte's edges; TLV options (DHCP, BGP attributes) give each tag, length and
# value. As in NetPlier's and BinaryInferno's evaluations, a boundary between two fields that
# are constant in every message of the sample (same field, offset and value) is dropped
# ("merged" columns); the raw dissector boundaries are scored too.
#
# Metric: over all messages of a sample, a gap between byte i and i+1 (0 < i+1 < length) is a
# true boundary or not, and inferred or not: precision = TP / inferred, recall = TP / true,
# F1 their harmonic mean. `random` has no true boundary: its line counts the boundaries
# inferred per message (0 is right).
#
# The samples are GPL-3.0 (their README): they are read in place, never copied into the repo.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FERRY="${FERRY_BIN:-$ROOT/build/ci/src/cli/ferry}"
DATA="${FERRY_PROTOCOLS:-$ROOT/../shared/data/protocols/top-level}"
SIZES=("$@")
((${#SIZES[@]})) || SIZES=(100 1000)
[[ -x $FERRY ]] || { echo "build ferry first: cmake --build build/ci --target ferry (or set FERRY_BIN)" >&2; exit 2; }
[[ -d $DATA ]] || { echo "$DATA not found: the shared protocol samples are not beside this clone" >&2; exit 2; }
# The ground truth's tool, from scripts/bench-packages.txt.
if ! command -v tshark >/dev/null; then
  [[ $(id -u) == 0 ]] || { echo "tshark missing: sudo apt-get install tshark" >&2; exit 2; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends tshark >&2
fi

WORK=$(mktemp -d /tmp/ferry-infer-eval-XXXXXX)
trap 'rm -rf "$WORK"' EXIT

python3 - "$FERRY" "$DATA" "$WORK" "${SIZES[@]}" <<'PY'
import json, os, struct, subprocess, sys, time
import xml.etree.ElementTree as ET

ferry, data, work, sizes = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
PROTOCOLS = ["modbus", "ntp48", "dhcp", "bgp", "random"]


def checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frame(payload, tcp, sport, dport):
    if tcp:
        t = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 0x50, 0x18, 65535, 0, 0)
    else:
        t = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(t) + len(payload), 0, 0, 64,
                     6 if tcp else 17, 0, bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip + t + payload, 14 + 20 + len(t)


def transport(proto, m, i):
    """(tcp?, source port, destination port) for message i."""
    client = 20000 + i  # one stream a message: no sequence analysis across messages
    if proto == "modbus":
        fc, n = m[7] & 0x7F, len(m)
        request = (n == 12) if fc in (1, 2, 3, 4) else (n != 12) if fc in (15, 16) else True
        return (True, client, 502) if request else (True, 502, client)
    if proto == "ntp48":
        return False, 123, 123
    if proto == "dhcp":
        return (False, 68, 67) if m[0] == 1 else (False, 67, 68)
    if proto == "bgp":
        return True, client, 179
    return False, client, 9  # random: the discard port, no dissector


def write_pcap(path, proto, messages):
    offsets = []
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, m in enumerate(messages):
            tcp, sport, dport = transport(proto, m, i)
            fr, off = frame(m, tcp, sport, dport)
            f.write(struct.pack("<IIII", 1700000000 + i, 0, len(fr), len(fr)))
            f.write(fr)
            offsets.append(off)
    return offsets


def truth_fields(pcap, offsets, messages):
    """Per message, the dissector's leaf fields as (name, start, end) in payload offsets."""
    out = subprocess.run(
        ["tshark", "-r", pcap, "-T", "pdml", "-o", "tcp.desegment_tcp_streams:FALSE",
         "-o", "tcp.analyze_sequence_numbers:FALSE", "-o", "tcp.check_checksum:FALSE"],
        check=True, capture_output=True).stdout
    fields = []
    for packet in ET.fromstring(out).iter("packet"):
        i = len(fields)
        start, n = offsets[i], len(messages[i])
        leaves = set()
        for proto in packet.findall("proto"):
            for f in proto.iter("field"):
                if f.find("field") is not None:
                    continue
                pos, size = int(f.get("pos", "0")), int(f.get("size", "0"))
                if size <= 0 or pos < start or pos + size > start + n:
                    continue
                leaves.add((f.get("name", ""), pos - start, pos + size - start))
        fields.append(sorted(leaves, key=lambda x: (x[1], x[2], x[0])))
    assert len(fields) == len(messages), (len(fields), len(messages))
    return fields


def boundaries(fields, messages, merge):
    constant = set()
    if merge:
        keys = None
        for leaves, m in zip(fields, messages):
            here = {(name, b, e, m[b:e]) for name, b, e in leaves}
            keys = here if keys is None else keys & here
        constant = {(name, b, e) for name, b, e, _ in keys or set()}
    out = []
    for leaves, m in zip(fields, messages):
        ends, starts, busy = {}, {}, set()
        for leaf in leaves:
            name, b, e = leaf
            c = leaf in constant
            for at, side in ((b, starts), (e, ends)):
                side.setdefault(at, []).append(c)
        cuts = set()
        for at in set(starts) | set(ends):
            if not 0 < at < len(m):
                continue
            if merge and all(ends.get(at, [False])) and all(starts.get(at, [False])) \
                    and at in ends and at in starts:
                continue  # between two constant fields: merged
            cuts.add(at)
        out.append(cuts)
    return out


def score(inferred, truth):
    tp = fp = fn = 0
    for got, want in zip(inferred, truth):
        tp += len(got & want)
        fp += len(got - want)
        fn += len(want - got)
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


print("| sample | messages | types | P | R | F1 | F1 raw | infer ms | wall ms |")
print("|---|---|---|---|---|---|---|---|---|")
for size in sizes:
    for proto in PROTOCOLS:
        src = f"{data}/{size}/{proto}.txt.input"
        messages = [bytes.fromhex(line) for line in open(src) if line.strip()]
        bfile = f"{work}/{proto}-{size}.bounds"
        t0 = time.monotonic()
        run = subprocess.run([ferry, "--json", "infer", "--in", src, "--boundaries", bfile] +
                             os.environ.get("INFER_EVAL_ARGS", "").split(),
                             capture_output=True, text=True)
        wall = (time.monotonic() - t0) * 1000
        if run.returncode != 0:
            sys.exit(f"ferry infer failed on {src}: {run.stderr}")
        spec = json.loads(run.stdout)
        inferred = [set(map(int, line.split())) for line in open(bfile)]
        assert len(inferred) == len(messages)
        ms = spec["seconds"] * 1000
        types = len(spec["message_types"])
        if proto == "random":
            per = sum(map(len, inferred)) / len(messages)
            print(f"| {proto} {size} | {len(messages)} | {types} | ({per:.2f} boundaries a "
                  f"message inferred, 0 true) | | | | {ms:.1f} | {wall:.0f} |")
            continue
        pcap = f"{work}/{proto}-{size}.pcap"
        offsets = write_pcap(pcap, proto, messages)
        fields = truth_fields(pcap, offsets, messages)
        merged = boundaries(fields, messages, True)
        raw = boundaries(fields, messages, False)
        p, r, f = score(inferred, merged)
        _, _, f_raw = score(inferred, raw)
        if os.environ.get("INFER_EVAL_SHOW") == proto:  # a few messages, field by field
            for i in range(min(5, len(messages))):
                print(f"{proto} message {i + 1}: {messages[i].hex()}", file=sys.stderr)
                print("  fields:", " ".join(f"{n}@{b}-{e}" for n, b, e in fields[i]),
                      file=sys.stderr)
                print("  true:    ", sorted(merged[i]), file=sys.stderr)
                print("  inferred:", sorted(inferred[i]), file=sys.stderr)
            fps, fns = {}, {}
            for got, want in zip(inferred, merged):
                for b in got - want:
                    fps[b] = fps.get(b, 0) + 1
                for b in want - got:
                    fns[b] = fns.get(b, 0) + 1
            top = lambda d: ", ".join(f"{b} ({n})" for b, n in
                                      sorted(d.items(), key=lambda x: -x[1])[:15])
            print(f"{proto}: most false boundaries at offset (messages): {top(fps)}",
                  file=sys.stderr)
            print(f"{proto}: most missed boundaries at offset (messages): {top(fns)}",
                  file=sys.stderr)
        print(f"| {proto} {size} | {len(messages)} | {types} | {p:.2f} | {r:.2f} | {f:.2f} | "
              f"{f_raw:.2f} | {ms:.1f} | {wall:.0f} |", flush=True)
PY
