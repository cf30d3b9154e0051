#!/usr/bin/env python3
"""Draw the sample chain's store photos into samples/images/ (Python standard library only).

A storefront per city (the awning colour differs), two interiors and the brand logo: the
photos the sample exports reference (a storefront and two interior photos per store, the
integration guide's minimum). Real image files, a few KB each: JPEG written by a small
baseline encoder below, PNG with zlib. Output is deterministic.
Run from anywhere: python3 samples/draw_photos.py
"""
import math
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "images")
W, H = 320, 240


class Canvas:
    def __init__(self, w, h, colour):
        self.w, self.h = w, h
        self.px = [list(colour) for _ in range(w * h)]

    def rect(self, x0, y0, x1, y1, colour):
        for y in range(max(0, y0), min(self.h, y1)):
            row = y * self.w
            for x in range(max(0, x0), min(self.w, x1)):
                self.px[row + x] = list(colour)

    def circle(self, cx, cy, r, colour):
        for y in range(max(0, cy - r), min(self.h, cy + r + 1)):
            for x in range(max(0, cx - r), min(self.w, cx + r + 1)):
                if (x - cx) ** 2 + (y - cy) ** 2 <= r * r:
                    self.px[y * self.w + x] = list(colour)

    def gradient(self, y0, y1, top, bottom):
        for y in range(y0, y1):
            t = (y - y0) / max(1, y1 - y0 - 1)
            c = [round(a + (b - a) * t) for a, b in zip(top, bottom)]
            self.rect(0, y, self.w, y + 1, c)

    def triangle(self, pts, colour):
        (ax, ay), (bx, by), (cx, cy) = pts
        for y in range(max(0, min(ay, by, cy)), min(self.h, max(ay, by, cy) + 1)):
            for x in range(max(0, min(ax, bx, cx)), min(self.w, max(ax, bx, cx) + 1)):
                d1 = (x - bx) * (ay - by) - (ax - bx) * (y - by)
                d2 = (x - cx) * (by - cy) - (bx - cx) * (y - cy)
                d3 = (x - ax) * (cy - ay) - (cx - ax) * (y - ay)
                neg = d1 < 0 or d2 < 0 or d3 < 0
                pos = d1 > 0 or d2 > 0 or d3 > 0
                if not (neg and pos):
                    self.px[y * self.w + x] = list(colour)

    def rows(self):
        for y in range(self.h):
            yield self.px[y * self.w:(y + 1) * self.w]


def fruit(c, x, y, r):
    """An orange with a leaf: the brand's mark."""
    c.circle(x, y, r, (247, 148, 29))
    c.circle(x - r // 3, y - r // 3, max(1, r // 4), (255, 196, 110))
    c.triangle([(x, y - r), (x + r, y - r - r // 2), (x + r // 3, y - r + 2)], (60, 150, 60))


def storefront(awning):
    c = Canvas(W, H, (200, 200, 200))
    c.gradient(0, 70, (120, 180, 235), (200, 225, 245))
    c.rect(0, 70, W, 200, (236, 226, 206))          # wall
    c.rect(30, 78, 290, 108, (90, 60, 40))          # sign board
    for i in range(5):
        fruit(c, 70 + i * 45, 93, 10)
    for i in range(0, W, 32):                        # striped awning
        c.rect(i, 108, i + 16, 128, awning)
        c.rect(i + 16, 108, i + 32, 128, (250, 250, 250))
    c.rect(24, 136, 176, 196, (150, 195, 215))      # shop window
    c.rect(24, 136, 176, 140, (70, 70, 70))
    for i in range(6):                               # fruit on display
        fruit(c, 42 + i * 24, 182, 9)
    c.rect(200, 132, 276, 200, (110, 80, 50))       # door
    c.rect(206, 138, 270, 196, (160, 205, 225))
    c.circle(262, 168, 3, (230, 190, 60))
    c.gradient(200, H, (120, 120, 120), (80, 80, 80))  # pavement
    return c


def interior_counter():
    c = Canvas(W, H, (250, 240, 225))
    c.rect(0, 0, W, 90, (245, 230, 205))            # back wall
    c.rect(20, 20, 300, 70, (60, 45, 35))           # menu board
    for row in range(3):
        for col in range(6):
            c.rect(34 + col * 44, 28 + row * 14, 66 + col * 44, 34 + row * 14, (235, 235, 220))
    c.rect(0, 150, W, 240, (180, 140, 100))         # floor
    c.rect(30, 110, 290, 170, (200, 90, 60))        # counter
    c.rect(30, 104, 290, 112, (240, 240, 240))
    for i in range(7):                               # cups of juice
        x = 50 + i * 36
        c.rect(x, 86, x + 18, 104, (255, 255, 255))
        c.rect(x + 2, 90, x + 16, 102, [(247, 148, 29), (230, 60, 90), (120, 200, 80)][i % 3])
    fruit(c, 265, 140, 12)
    return c


def interior_seating():
    c = Canvas(W, H, (245, 245, 240))
    c.gradient(0, 130, (250, 248, 240), (235, 228, 210))
    for y in range(130, H, 22):                      # tiled floor
        for x in range(0, W, 22):
            shade = (210, 200, 185) if ((x + y) // 22) % 2 else (190, 178, 160)
            c.rect(x, y, x + 21, y + 21, shade)
    for i in range(3):                               # windows
        c.rect(20 + i * 100, 20, 100 + i * 100, 90, (170, 210, 235))
        c.rect(58 + i * 100, 20, 62 + i * 100, 90, (255, 255, 255))
    for i in range(3):                               # tables and stools
        x = 30 + i * 100
        c.rect(x, 140, x + 70, 150, (140, 95, 60))
        c.rect(x + 32, 150, x + 38, 190, (90, 60, 40))
        c.circle(x - 4, 180, 10, (230, 80, 60))
        c.circle(x + 74, 180, 10, (230, 80, 60))
        fruit(c, x + 35, 130, 8)
    return c


def logo():
    c = Canvas(128, 128, (255, 255, 255))
    c.circle(64, 64, 60, (60, 150, 60))
    c.circle(64, 64, 52, (255, 255, 255))
    fruit(c, 64, 70, 34)
    return c


def png_bytes(canvas):
    raw = b"".join(b"\x00" + bytes(v for p in row for v in p) for row in canvas.rows())

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", canvas.w, canvas.h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b""))


# --- A baseline JPEG encoder (ITU T.81: 8-bit, Huffman tables of Annex K, 4:4:4) ---------

ZIGZAG = [0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34,
          27, 20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37,
          44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63]
Q_LUMA = [16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57,
          69, 56, 14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55,
          64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100,
          103, 99]
Q_CHROMA = [17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99,
            99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99] + [99] * 32
DC_LUMA = ([0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0], list(range(12)))
DC_CHROMA = ([0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0], list(range(12)))
AC_LUMA = ([0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7D], bytes.fromhex(
    "01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a"
    "25262728292a3435363738393a434445464748494a535455565758595a636465666768696a73747576777879"
    "7a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9"
    "cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9fa"))
AC_CHROMA = ([0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77], bytes.fromhex(
    "000102031104052131061241510761711322328108144291a1b1c109233352f0156272d10a162434e125f117"
    "18191a262728292a35363738393a434445464748494a535455565758595a636465666768696a737475767778"
    "797a82838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7"
    "c8c9cad2d3d4d5d6d7d8d9dae2e3e4e5e6e7e8e9eaf2f3f4f5f6f7f8f9fa"))
COS = [[math.cos((2 * x + 1) * u * math.pi / 16) * (math.sqrt(0.5) if u == 0 else 1) / 2
        for x in range(8)] for u in range(8)]


def huffman_codes(spec):
    counts, symbols = spec
    codes, code, k = {}, 0, 0
    for length in range(1, 17):
        for _ in range(counts[length - 1]):
            codes[symbols[k]] = (code, length)
            code += 1
            k += 1
        code <<= 1
    return codes


class Bits:
    def __init__(self):
        self.out, self.acc, self.n = bytearray(), 0, 0

    def put(self, value, length):
        self.acc = (self.acc << length) | (value & ((1 << length) - 1))
        self.n += length
        while self.n >= 8:
            self.n -= 8
            byte = (self.acc >> self.n) & 0xFF
            self.out.append(byte)
            if byte == 0xFF:
                self.out.append(0)
        self.acc &= (1 << self.n) - 1

    def flush(self):
        if self.n:
            self.put(0x7F, 8 - self.n)


def magnitude(v):
    size = abs(v).bit_length()
    return size, (v if v >= 0 else v + (1 << size) - 1)


def scaled(table, quality):
    s = 5000 // quality if quality < 50 else 200 - 2 * quality
    return [min(255, max(1, (q * s + 50) // 100)) for q in table]


def jpeg_bytes(canvas, quality=75):
    ql, qc = scaled(Q_LUMA, quality), scaled(Q_CHROMA, quality)
    tables = [(ql, huffman_codes(DC_LUMA), huffman_codes(AC_LUMA)),
              (qc, huffman_codes(DC_CHROMA), huffman_codes(AC_CHROMA)),
              (qc, huffman_codes(DC_CHROMA), huffman_codes(AC_CHROMA))]
    planes = [[], [], []]
    for p in canvas.px:
        r, g, b = p
        planes[0].append(0.299 * r + 0.587 * g + 0.114 * b - 128)
        planes[1].append(-0.168736 * r - 0.331264 * g + 0.5 * b)
        planes[2].append(0.5 * r - 0.418688 * g - 0.081312 * b)
    bits, prev = Bits(), [0, 0, 0]
    for by in range(0, canvas.h, 8):
        for bx in range(0, canvas.w, 8):
            for ci in range(3):
                plane, (q, dc_codes, ac_codes) = planes[ci], tables[ci]
                block = [[plane[min(canvas.h - 1, by + y) * canvas.w + min(canvas.w - 1, bx + x)]
                          for x in range(8)] for y in range(8)]
                rows = [[sum(COS[u][x] * block[y][x] for x in range(8)) for u in range(8)]
                        for y in range(8)]
                coef = [sum(COS[v][y] * rows[y][u] for y in range(8))
                        for v in range(8) for u in range(8)]
                zz = [round(coef[ZIGZAG[i]] / q[ZIGZAG[i]]) for i in range(64)]
                size, val = magnitude(zz[0] - prev[ci])
                prev[ci] = zz[0]
                bits.put(*dc_codes[size])
                bits.put(val, size)
                run = 0
                for v in zz[1:]:
                    if v == 0:
                        run += 1
                        continue
                    while run > 15:
                        bits.put(*ac_codes[0xF0])
                        run -= 16
                    size, val = magnitude(v)
                    bits.put(*ac_codes[(run << 4) | size])
                    bits.put(val, size)
                    run = 0
                if run:
                    bits.put(*ac_codes[0x00])
    bits.flush()

    def segment(marker, data):
        return struct.pack(">BBH", 0xFF, marker, len(data) + 2) + data

    dqt = b"".join(bytes([i]) + bytes(t[z] for z in ZIGZAG) for i, t in enumerate([ql, qc]))
    sof = struct.pack(">BHHB", 8, canvas.h, canvas.w, 3) + bytes([1, 0x11, 0, 2, 0x11, 1, 3, 0x11, 1])
    dht = b"".join(bytes([cls_id]) + bytes(spec[0]) + bytes(spec[1])
                   for cls_id, spec in [(0x00, DC_LUMA), (0x10, AC_LUMA),
                                        (0x01, DC_CHROMA), (0x11, AC_CHROMA)])
    sos = bytes([3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0])
    return (b"\xff\xd8" + segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
            + segment(0xDB, dqt) + segment(0xC0, sof) + segment(0xC4, dht)
            + segment(0xDA, sos) + bytes(bits.out) + b"\xff\xd9")


PHOTOS = [
    ("storefront-sh.jpg", lambda: storefront((214, 40, 40))),
    ("storefront-bj.jpg", lambda: storefront((40, 90, 200))),
    ("storefront-hz.jpg", lambda: storefront((40, 150, 80))),
    ("interior-counter.jpg", interior_counter),
    ("interior-seating.png", interior_seating),
    ("logo.png", logo),
]


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, draw in PHOTOS:
        canvas = draw()
        data = jpeg_bytes(canvas) if name.endswith(".jpg") else png_bytes(canvas)
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
        print(f"{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
