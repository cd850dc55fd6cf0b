#!/usr/bin/env python3
"""Instruction profile of the firmware from a QEMU execution log.

    firmware_profile.py LOG ELF [--by function|line] [--top N]

LOG comes from `qemu-system-arm ... -d exec,nochain,in_asm -D LOG`: every translated block
once with its instructions (in_asm), every execution of a block (exec; nochain makes QEMU log
each one). Each instruction executed is counted once, mapped to source with
`llvm-addr2line --inlining`, and charged to the innermost frame in this crate's `src/`
(else to the innermost frame at all: libm, compiler builtins, microfft).
"""
import argparse
import collections
import re
import subprocess
import sys

TRACE = re.compile(r"\[[0-9a-f]+/([0-9a-f]+)/")


def executed(log):
    """Instructions executed, by address."""
    blocks, block, start = {}, [], None
    runs = collections.Counter()
    with open(log, errors="replace") as f:
        for line in f:
            if line.startswith("IN:"):
                block, start = [], None
            elif line.startswith("0x"):
                pc = int(line[:10], 16)
                if start is None:
                    start = pc
                block.append(pc)
                blocks[start] = list(block)
            elif line.startswith("Trace"):
                m = TRACE.search(line)
                if m:
                    runs[int(m.group(1), 16)] += 1
    counts = collections.Counter()
    for pc, n in runs.items():
        for a in blocks.get(pc, [pc]):
            counts[a] += n
    return counts


def frames(elf, addresses):
    """Inlined frames (function, file:line), innermost first, by address."""
    out = subprocess.run(
        ["llvm-addr2line", "--addresses", "-i", "-f", "-C", "-e", elf]
        + [hex(a) for a in addresses],
        capture_output=True, text=True, check=True,
    ).stdout.split("\n")
    result, current, i = {}, None, 0
    while i < len(out):
        line = out[i]
        if line.startswith("0x"):
            current = int(line, 16)
            result[current] = []
            i += 1
        elif not line.strip():
            i += 1
        else:
            loc = out[i + 1] if i + 1 < len(out) else ""
            result[current].append((line, loc))
            i += 2
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("log")
    ap.add_argument("elf")
    ap.add_argument("--by", choices=["function", "line"], default="function")
    ap.add_argument("--top", type=int, default=40)
    args = ap.parse_args()
    counts = executed(args.log)
    if not counts:
        sys.exit(f"{args.log}: no executed blocks (run QEMU with -d exec,nochain,in_asm)")
    where = frames(args.elf, sorted(counts))
    total = sum(counts.values())
    by = collections.Counter()
    for a, n in counts.items():
        fr = where.get(a) or [("?", "?")]
        ours = [f for f in fr if "/src/" in f[1] and "/rustc/" not in f[1]]
        fn, loc = (ours or fr)[0]
        if args.by == "function":
            by[re.sub(r"::h[0-9a-f]{16}$", "", fn)] += n
        else:
            by[re.sub(r"^.*?/src/", "src/", loc.split(" ")[0])] += n
    print(f"{total} instructions executed")
    for key, n in by.most_common(args.top):
        print(f"{100 * n / total:6.2f} %  {key}")


if __name__ == "__main__":
    main()
