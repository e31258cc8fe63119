#!/usr/bin/env bash
# Makes the lzop fixtures in this folder with the real `lzop` tool (Debian
# package lzop, 1.04). The CSV is synthetic and seeded: no real data is
# committed. Broken variants are made by changing single bytes of good files,
# at offsets this script prints and the tests name.
set -euo pipefail
cd "$(dirname "$0")"
command -v lzop >/dev/null || { echo "needs lzop (apt-get install lzop)" >&2; exit 1; }

python3 - <<'PY'
import random
rng = random.Random(20101201)
items = [("85123A", "WHITE HANGING HEART T-LIGHT HOLDER", 2.55),
         ("71053", "WHITE METAL LANTERN", 3.39),
         ("84406B", "CREAM CUPID HEARTS COAT HANGER", 2.75),
         ("22752", "SET 7 BABUSHKA NESTING BOXES", 7.65),
         ("21730", "GLASS STAR FROSTED T-LIGHT HOLDER", 4.25),
         ("POST", "POSTAGE", 18.0)]
lines = ["InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"]
invoice = 536365
while sum(len(l) + 1 for l in lines) < 300_000:
    invoice += 1
    customer = "" if rng.random() < 0.2 else f"{rng.randint(12346, 18287)}.0"
    prefix = "C" if rng.random() < 0.02 else ""
    day, hour, minute = rng.randint(1, 28), rng.randint(8, 20), rng.randint(0, 59)
    for _ in range(rng.randint(1, 12)):
        code, desc, price = rng.choice(items)
        qty = rng.randint(1, 24) * (-1 if prefix else 1)
        lines.append(f"{prefix}{invoice},{code},{desc},{qty},2011-03-{day:02d} {hour:02d}:{minute:02d}:00,{price},{customer},United Kingdom")
open("small.csv", "w").write("\n".join(lines) + "\n")
PY

export TZ=UTC
touch -d '2011-03-01 00:00:00' small.csv
lzop -f -o small-3.csv.lzo small.csv            # defaults: LZO1X-1, level 3, adler32
lzop -f -1 -o small-1.csv.lzo small.csv
lzop -f -9 -o small-9.csv.lzo small.csv
lzop -f --crc32 -o small-crc32.csv.lzo small.csv
lzop -c < small.csv > small-stdin.csv.lzo       # no name, stdin flags
: > empty
lzop -f -o empty.lzo empty && rm empty
head -c 262144 small.csv > one-block.csv
lzop -f -o one-block.csv.lzo one-block.csv
cat small-3.csv.lzo small-9.csv.lzo > concat.csv.lzo
# a file of random bytes that compress badly, so lzop stores the blocks
python3 -c "import random; r=random.Random(7); open('noise.bin','wb').write(bytes(r.getrandbits(8) for _ in range(300000)))"
lzop -f -o noise.bin.lzo noise.bin && rm noise.bin

python3 - <<'PY'
data = bytearray(open("small-3.csv.lzo", "rb").read())
# Header: magic 9, version/lib/needed 6, method+level 2, flags 4, mode 4,
# mtime 8, name length 1, name, checksum 4.
name_len = data[33]
first_block = 34 + name_len + 4
print("first block header at", first_block)
open("truncated.csv.lzo", "wb").write(data[: len(data) // 2])
bad = bytearray(data); bad[0] = ord("X"); open("bad-magic.csv.lzo", "wb").write(bad)
bad = bytearray(data); bad[first_block + 8] ^= 0xFF  # stored adler32 of block 1
open("bad-checksum.csv.lzo", "wb").write(bad)
bad = bytearray(data); bad[first_block + 12 + 100] ^= 0x55  # compressed bytes of block 1
open("corrupt-block.csv.lzo", "wb").write(bad)
bad = bytearray(data); bad[first_block:first_block + 4] = (0x7FFFFFFF).to_bytes(4, "big")
open("huge-block.csv.lzo", "wb").write(bad)
bad = bytearray(data); bad[34] ^= 0x01  # first byte of the name: header checksum fails
open("bad-header-checksum.csv.lzo", "wb").write(bad)
open("trailing-garbage.csv.lzo", "wb").write(bytes(data) + b"garbage")
PY
rm -f one-block.csv
sha256sum small.csv
