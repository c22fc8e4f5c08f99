//! PNG figures and screenshots: a small encoder (RGB, per-row filters, fixed-Huffman deflate
//! with LZ77), so that exports and `--screenshot` need no image crate.

use super::{ExportError, write_bytes};
use std::path::Path;

/// Writes `rgba` (width × height, row-major, 4 bytes a pixel, unmultiplied) as an RGB PNG,
/// atomically. Screenshots are opaque, so alpha is dropped.
pub fn write_png(path: &Path, width: usize, height: usize, rgba: &[u8]) -> Result<(), ExportError> {
    if width == 0 || height == 0 {
        return Err(ExportError::Shape(
            "the figure is empty (its view is not on screen)".into(),
        ));
    }
    if rgba.len() != width * height * 4 {
        return Err(ExportError::Shape(format!(
            "the image holds {} bytes, not {width} × {height} × 4",
            rgba.len()
        )));
    }
    write_bytes(path, &encode_png(width, height, rgba))
}

/// The PNG file as bytes (`rgba` must hold width × height pixels).
pub fn encode_png(width: usize, height: usize, rgba: &[u8]) -> Vec<u8> {
    assert_eq!(
        rgba.len(),
        width * height * 4,
        "rgba must hold width × height pixels"
    );
    let stride = width * 3;
    let mut raw = Vec::with_capacity((stride + 1) * height);
    let mut previous = vec![0u8; stride];
    let mut row = vec![0u8; stride];
    let mut candidate = vec![0u8; stride];
    for y in 0..height {
        for x in 0..width {
            row[3 * x..3 * x + 3]
                .copy_from_slice(&rgba[4 * (y * width + x)..4 * (y * width + x) + 3]);
        }
        // Choose the filter with the smallest sum of |residual| (the usual heuristic).
        let mut best: (u64, u8, Vec<u8>) = (u64::MAX, 0, Vec::new());
        for filter in 0..3u8 {
            for i in 0..stride {
                let left = if i >= 3 { row[i - 3] } else { 0 };
                candidate[i] = match filter {
                    0 => row[i],
                    1 => row[i].wrapping_sub(left),
                    _ => row[i].wrapping_sub(previous[i]),
                };
            }
            let cost: u64 = candidate
                .iter()
                .map(|&b| (b as i8).unsigned_abs() as u64)
                .sum();
            if cost < best.0 {
                best = (cost, filter, candidate.clone());
            }
        }
        raw.push(best.1);
        raw.extend_from_slice(&best.2);
        std::mem::swap(&mut previous, &mut row);
    }
    let mut out = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    let mut header = Vec::new();
    header.extend_from_slice(&(width as u32).to_be_bytes());
    header.extend_from_slice(&(height as u32).to_be_bytes());
    header.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &header);
    chunk(&mut out, b"IDAT", &zlib(&raw));
    chunk(&mut out, b"IEND", &[]);
    out
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn adler32(bytes: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in bytes.chunks(5552) {
        for &x in chunk {
            a += x as u32;
            b += a;
        }
        a %= 65521;
        b %= 65521;
    }
    (b << 16) | a
}

struct Bits {
    out: Vec<u8>,
    acc: u64,
    count: u32,
}

impl Bits {
    /// `count` bits of `value`, least significant first.
    fn put(&mut self, value: u32, count: u32) {
        self.acc |= (value as u64) << self.count;
        self.count += count;
        while self.count >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.count -= 8;
        }
    }
    /// A Huffman code, most significant bit first.
    fn code(&mut self, code: u32, length: u32) {
        let reversed = code.reverse_bits() >> (32 - length);
        self.put(reversed, length);
    }
    fn finish(mut self) -> Vec<u8> {
        if self.count > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }
}

const LENGTH_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LENGTH_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];

fn literal(bits: &mut Bits, symbol: u32) {
    match symbol {
        0..=143 => bits.code(0x30 + symbol, 8),
        144..=255 => bits.code(0x190 + symbol - 144, 9),
        256..=279 => bits.code(symbol - 256, 7),
        _ => bits.code(0xC0 + symbol - 280, 8),
    }
}

fn matched(bits: &mut Bits, length: usize, distance: usize) {
    let l = LENGTH_BASE
        .iter()
        .rposition(|&b| b as usize <= length)
        .expect("length ≥ 3");
    literal(bits, 257 + l as u32);
    bits.put(
        (length - LENGTH_BASE[l] as usize) as u32,
        LENGTH_EXTRA[l] as u32,
    );
    let d = DIST_BASE
        .iter()
        .rposition(|&b| b as usize <= distance)
        .expect("distance ≥ 1");
    bits.code(d as u32, 5);
    bits.put(
        (distance - DIST_BASE[d] as usize) as u32,
        DIST_EXTRA[d] as u32,
    );
}

/// zlib stream: one fixed-Huffman block, greedy LZ77 over a 32 KiB window.
fn zlib(data: &[u8]) -> Vec<u8> {
    const WINDOW: usize = 32 * 1024;
    const HASH_BITS: u32 = 15;
    const CHAIN: usize = 48;
    let mut bits = Bits {
        out: vec![0x78, 0x01],
        acc: 0,
        count: 0,
    };
    bits.put(1, 1);
    bits.put(1, 2);
    let mut head = vec![usize::MAX; 1 << HASH_BITS];
    let mut prev = vec![usize::MAX; WINDOW];
    let hash = |i: usize| -> usize {
        let v = (data[i] as u32) << 16 | (data[i + 1] as u32) << 8 | data[i + 2] as u32;
        (v.wrapping_mul(2_654_435_761) >> (32 - HASH_BITS)) as usize
    };
    let insert = |i: usize, head: &mut Vec<usize>, prev: &mut Vec<usize>| {
        if i + 2 < data.len() {
            let h = hash(i);
            prev[i % WINDOW] = head[h];
            head[h] = i;
        }
    };
    let mut i = 0;
    while i < data.len() {
        let mut best_len = 0;
        let mut best_dist = 0;
        if i + 2 < data.len() {
            let mut candidate = head[hash(i)];
            let mut tries = 0;
            let max_len = (data.len() - i).min(258);
            while candidate != usize::MAX && i - candidate <= WINDOW && tries < CHAIN {
                let mut len = 0;
                while len < max_len && data[candidate + len] == data[i + len] {
                    len += 1;
                }
                if len > best_len {
                    best_len = len;
                    best_dist = i - candidate;
                    if len == max_len {
                        break;
                    }
                }
                let next = prev[candidate % WINDOW];
                if next == usize::MAX || next >= candidate {
                    break;
                }
                candidate = next;
                tries += 1;
            }
        }
        if best_len >= 3 {
            matched(&mut bits, best_len, best_dist);
            for k in i..i + best_len {
                insert(k, &mut head, &mut prev);
            }
            i += best_len;
        } else {
            literal(&mut bits, data[i] as u32);
            insert(i, &mut head, &mut prev);
            i += 1;
        }
    }
    literal(&mut bits, 256);
    let mut out = bits.finish();
    out.extend_from_slice(&adler32(data).to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_match_known_values() {
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
    }

    #[test]
    fn flat_images_compress() {
        let rgba = vec![200u8; 64 * 64 * 4];
        let png = encode_png(64, 64, &rgba);
        assert_eq!(&png[..8], &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        assert!(png.len() < 600, "{} bytes", png.len());
    }
}
