"""Count repeated blocks of k source lines (whitespace normalised; blank and comment lines skipped) under a
directory: a block counted once per pair of places, maximal runs merged. `python scripts/duplicates.py keisei [-v]`.
"""
import sys, re, hashlib
from pathlib import Path
from collections import defaultdict

def norm_lines(path):
    out = []
    for i, raw in enumerate(path.read_text().splitlines(), 1):
        s = raw.strip()
        if not s or s.startswith("#") or s in ('"""', "'''"):
            continue
        s = re.sub(r"\s+", " ", s)
        if False:
            continue
        out.append((i, s))
    return out

def pairs(root, k):
    index = defaultdict(list)
    files = {}
    for p in sorted(Path(root).rglob("*.py")):
        ls = norm_lines(p); files[p] = ls
        for j in range(len(ls) - k + 1):
            h = hashlib.md5("\n".join(s for _, s in ls[j:j+k]).encode()).hexdigest()
            index[h].append((p, j))
    # merge: a duplicate pair (a, b) of windows that continue (a+1, b+1) is one block
    dup = set()
    for locs in index.values():
        if len(locs) < 2: continue
        for x in range(len(locs)):
            for y in range(x+1, len(locs)):
                dup.add((locs[x], locs[y]))
    blocks = [d for d in dup if ((d[0][0], d[0][1]-1), (d[1][0], d[1][1]-1)) not in dup]
    return blocks

root = sys.argv[1]
for k in (6, 4):
    b = pairs(root, k)
    print(f"k={k}: {len(b)} repeated blocks")
    if "-v" in sys.argv and k == 6:
        for (pa, ja), (pb, jb) in sorted(b, key=str):
            print("  ", pa, ja, "<->", pb, jb)
