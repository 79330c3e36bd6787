/**
 * SHA-256 and SHA-512 in plain TypeScript, for the browser build of core (FIPS 180-4,
 * https://csrc.nist.gov/pubs/fips/180-4/upd1/final, §6.2 and §6.4). They take the same
 * arguments as `../hash.ts` and give the same bytes, synchronously, with no platform crypto.
 *
 * SHA-512 works on 64-bit words kept as two 32-bit halves (high, low) in Int32 arithmetic: a
 * BigInt version is about a hundred times slower. Additions carry from the low half into the
 * high half by comparing unsigned sums (`(lo >>> 0) < (x >>> 0)` means the low half wrapped).
 *
 * It deliberately does not offer a streaming interface, SHA-224/384 or any other truncated
 * variant, and makes no claim of constant time (the inputs hashed here are public).
 */

// FIPS 180-4 §4.2.2: the first 32 bits of the fractional parts of the cube roots of the first 64 primes.
const k256 = Uint32Array.of(
  0x428a2f98,
  0x71374491,
  0xb5c0fbcf,
  0xe9b5dba5,
  0x3956c25b,
  0x59f111f1,
  0x923f82a4,
  0xab1c5ed5,
  0xd807aa98,
  0x12835b01,
  0x243185be,
  0x550c7dc3,
  0x72be5d74,
  0x80deb1fe,
  0x9bdc06a7,
  0xc19bf174,
  0xe49b69c1,
  0xefbe4786,
  0x0fc19dc6,
  0x240ca1cc,
  0x2de92c6f,
  0x4a7484aa,
  0x5cb0a9dc,
  0x76f988da,
  0x983e5152,
  0xa831c66d,
  0xb00327c8,
  0xbf597fc7,
  0xc6e00bf3,
  0xd5a79147,
  0x06ca6351,
  0x14292967,
  0x27b70a85,
  0x2e1b2138,
  0x4d2c6dfc,
  0x53380d13,
  0x650a7354,
  0x766a0abb,
  0x81c2c92e,
  0x92722c85,
  0xa2bfe8a1,
  0xa81a664b,
  0xc24b8b70,
  0xc76c51a3,
  0xd192e819,
  0xd6990624,
  0xf40e3585,
  0x106aa070,
  0x19a4c116,
  0x1e376c08,
  0x2748774c,
  0x34b0bcb5,
  0x391c0cb3,
  0x4ed8aa4a,
  0x5b9cca4f,
  0x682e6ff3,
  0x748f82ee,
  0x78a5636f,
  0x84c87814,
  0x8cc70208,
  0x90befffa,
  0xa4506ceb,
  0xbef9a3f7,
  0xc67178f2,
);

// FIPS 180-4 §5.3.3.
const iv256 = Uint32Array.of(
  0x6a09e667,
  0xbb67ae85,
  0x3c6ef372,
  0xa54ff53a,
  0x510e527f,
  0x9b05688c,
  0x1f83d9ab,
  0x5be0cd19,
);

// FIPS 180-4 §4.2.3: the first 64 bits of the fractional parts of the cube roots of the first 80
// primes, as (high, low) pairs.
const k512 = Int32Array.of(
  0x428a2f98,
  0xd728ae22,
  0x71374491,
  0x23ef65cd,
  0xb5c0fbcf,
  0xec4d3b2f,
  0xe9b5dba5,
  0x8189dbbc,
  0x3956c25b,
  0xf348b538,
  0x59f111f1,
  0xb605d019,
  0x923f82a4,
  0xaf194f9b,
  0xab1c5ed5,
  0xda6d8118,
  0xd807aa98,
  0xa3030242,
  0x12835b01,
  0x45706fbe,
  0x243185be,
  0x4ee4b28c,
  0x550c7dc3,
  0xd5ffb4e2,
  0x72be5d74,
  0xf27b896f,
  0x80deb1fe,
  0x3b1696b1,
  0x9bdc06a7,
  0x25c71235,
  0xc19bf174,
  0xcf692694,
  0xe49b69c1,
  0x9ef14ad2,
  0xefbe4786,
  0x384f25e3,
  0x0fc19dc6,
  0x8b8cd5b5,
  0x240ca1cc,
  0x77ac9c65,
  0x2de92c6f,
  0x592b0275,
  0x4a7484aa,
  0x6ea6e483,
  0x5cb0a9dc,
  0xbd41fbd4,
  0x76f988da,
  0x831153b5,
  0x983e5152,
  0xee66dfab,
  0xa831c66d,
  0x2db43210,
  0xb00327c8,
  0x98fb213f,
  0xbf597fc7,
  0xbeef0ee4,
  0xc6e00bf3,
  0x3da88fc2,
  0xd5a79147,
  0x930aa725,
  0x06ca6351,
  0xe003826f,
  0x14292967,
  0x0a0e6e70,
  0x27b70a85,
  0x46d22ffc,
  0x2e1b2138,
  0x5c26c926,
  0x4d2c6dfc,
  0x5ac42aed,
  0x53380d13,
  0x9d95b3df,
  0x650a7354,
  0x8baf63de,
  0x766a0abb,
  0x3c77b2a8,
  0x81c2c92e,
  0x47edaee6,
  0x92722c85,
  0x1482353b,
  0xa2bfe8a1,
  0x4cf10364,
  0xa81a664b,
  0xbc423001,
  0xc24b8b70,
  0xd0f89791,
  0xc76c51a3,
  0x0654be30,
  0xd192e819,
  0xd6ef5218,
  0xd6990624,
  0x5565a910,
  0xf40e3585,
  0x5771202a,
  0x106aa070,
  0x32bbd1b8,
  0x19a4c116,
  0xb8d2d0c8,
  0x1e376c08,
  0x5141ab53,
  0x2748774c,
  0xdf8eeb99,
  0x34b0bcb5,
  0xe19b48a8,
  0x391c0cb3,
  0xc5c95a63,
  0x4ed8aa4a,
  0xe3418acb,
  0x5b9cca4f,
  0x7763e373,
  0x682e6ff3,
  0xd6b2b8a3,
  0x748f82ee,
  0x5defb2fc,
  0x78a5636f,
  0x43172f60,
  0x84c87814,
  0xa1f0ab72,
  0x8cc70208,
  0x1a6439ec,
  0x90befffa,
  0x23631e28,
  0xa4506ceb,
  0xde82bde9,
  0xbef9a3f7,
  0xb2c67915,
  0xc67178f2,
  0xe372532b,
  0xca273ece,
  0xea26619c,
  0xd186b8c7,
  0x21c0c207,
  0xeada7dd6,
  0xcde0eb1e,
  0xf57d4f7f,
  0xee6ed178,
  0x06f067aa,
  0x72176fba,
  0x0a637dc5,
  0xa2c898a6,
  0x113f9804,
  0xbef90dae,
  0x1b710b35,
  0x131c471b,
  0x28db77f5,
  0x23047d84,
  0x32caab7b,
  0x40c72493,
  0x3c9ebe0a,
  0x15c9bebc,
  0x431d67c4,
  0x9c100d4c,
  0x4cc5d4be,
  0xcb3e42b6,
  0x597f299c,
  0xfc657e2a,
  0x5fcb6fab,
  0x3ad6faec,
  0x6c44198c,
  0x4a475817,
);

// FIPS 180-4 §5.3.5, as (high, low) pairs.
const iv512 = Int32Array.of(
  0x6a09e667,
  0xf3bcc908,
  0xbb67ae85,
  0x84caa73b,
  0x3c6ef372,
  0xfe94f82b,
  0xa54ff53a,
  0x5f1d36f1,
  0x510e527f,
  0xade682d1,
  0x9b05688c,
  0x2b3e6c1f,
  0x1f83d9ab,
  0xfb41bd6b,
  0x5be0cd19,
  0x137e2179,
);

/**
 * sha256 returns the 32-byte SHA-256 digest of the concatenation of `parts` as a new Uint8Array
 * owned by the caller. The parts are read, never written or kept.
 */
export function sha256(...parts: readonly Uint8Array[]): Uint8Array {
  const state = new Int32Array(iv256);
  const w = new Int32Array(64);
  digestBlocks(parts, 64, 8, (block, at) => compress256(state, w, block, at));
  const out = new Uint8Array(32);
  const view = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) view.setInt32(i * 4, state[i] as number);
  return out;
}

/**
 * sha512 returns the 64-byte SHA-512 digest of the concatenation of `parts` as a new Uint8Array
 * owned by the caller. The parts are read, never written or kept.
 */
export function sha512(...parts: readonly Uint8Array[]): Uint8Array {
  const state = new Int32Array(iv512);
  const w = new Int32Array(160);
  digestBlocks(parts, 128, 16, (block, at) => compress512(state, w, block, at));
  const out = new Uint8Array(64);
  const view = new DataView(out.buffer);
  for (let i = 0; i < 16; i++) view.setInt32(i * 4, state[i] as number);
  return out;
}

/**
 * digestBlocks feeds the padded message (FIPS 180-4 §5.1) to `compress` one block at a time:
 * whole blocks straight from the parts, the rest through one block-sized buffer. The length
 * field is `lengthBytes` wide (8 for SHA-256, 16 for SHA-512); lengths here are below 2^53 bits,
 * so only its last 8 bytes are ever non-zero.
 */
function digestBlocks(
  parts: readonly Uint8Array[],
  blockLength: number,
  lengthBytes: number,
  compress: (block: Uint8Array, at: number) => void,
): void {
  const buffer = new Uint8Array(blockLength);
  let filled = 0;
  let total = 0;
  for (const part of parts) {
    total += part.length;
    let at = 0;
    if (filled > 0) {
      const take = Math.min(blockLength - filled, part.length);
      buffer.set(part.subarray(0, take), filled);
      filled += take;
      at = take;
      if (filled < blockLength) continue;
      compress(buffer, 0);
      filled = 0;
    }
    for (; at + blockLength <= part.length; at += blockLength) compress(part, at);
    buffer.set(part.subarray(at), 0);
    filled = part.length - at;
  }
  // Padding: 0x80, zeros, then the bit length big-endian in the last `lengthBytes` bytes.
  buffer[filled++] = 0x80;
  if (filled > blockLength - lengthBytes) {
    buffer.fill(0, filled);
    compress(buffer, 0);
    filled = 0;
  }
  buffer.fill(0, filled);
  const view = new DataView(buffer.buffer);
  const bits = total * 8;
  view.setUint32(blockLength - 8, (bits / 0x100000000) | 0);
  view.setUint32(blockLength - 4, bits >>> 0);
  compress(buffer, 0);
}

function readWord(bytes: Uint8Array, at: number): number {
  return (
    ((bytes[at] as number) << 24) |
    ((bytes[at + 1] as number) << 16) |
    ((bytes[at + 2] as number) << 8) |
    (bytes[at + 3] as number)
  );
}

// FIPS 180-4 §6.2.2, with the eight working variables in locals.
function compress256(state: Int32Array, w: Int32Array, block: Uint8Array, at: number): void {
  for (let t = 0; t < 16; t++) w[t] = readWord(block, at + t * 4);
  for (let t = 16; t < 64; t++) {
    const x = w[t - 15] as number;
    const y = w[t - 2] as number;
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    w[t] = (s1 + (w[t - 7] as number) + s0 + (w[t - 16] as number)) | 0;
  }
  let a = state[0] as number;
  let b = state[1] as number;
  let c = state[2] as number;
  let d = state[3] as number;
  let e = state[4] as number;
  let f = state[5] as number;
  let g = state[6] as number;
  let h = state[7] as number;
  for (let t = 0; t < 64; t++) {
    const sigma1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const ch = (e & f) ^ (~e & g);
    const t1 = (h + sigma1 + ch + (k256[t] as number) + (w[t] as number)) | 0;
    const sigma0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const maj = (a & b) ^ (a & c) ^ (b & c);
    const t2 = (sigma0 + maj) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  state[0] = (state[0] as number) + a;
  state[1] = (state[1] as number) + b;
  state[2] = (state[2] as number) + c;
  state[3] = (state[3] as number) + d;
  state[4] = (state[4] as number) + e;
  state[5] = (state[5] as number) + f;
  state[6] = (state[6] as number) + g;
  state[7] = (state[7] as number) + h;
}

/**
 * compress512 is FIPS 180-4 §6.4.2. A 64-bit word x is the pair (xh, xl); `w` holds the message
 * schedule as 80 pairs. The rotations of §4.1.3 on pairs: for 0 < n < 32,
 * ROTR^n(x) = (xh >>> n | xl << 32-n, xl >>> n | xh << 32-n), and for 32 < n < 64 the halves
 * swap roles with n - 32. SHR^n for n < 32 is (xh >>> n, xl >>> n | xh << 32-n).
 */
function compress512(state: Int32Array, w: Int32Array, block: Uint8Array, at: number): void {
  for (let t = 0; t < 32; t++) w[t] = readWord(block, at + t * 4);
  for (let t = 32; t < 160; t += 2) {
    // σ0(x) = ROTR^1 ^ ROTR^8 ^ SHR^7 of W[t-15]
    let xh = w[t - 30] as number;
    let xl = w[t - 29] as number;
    const s0h = ((xh >>> 1) | (xl << 31)) ^ ((xh >>> 8) | (xl << 24)) ^ (xh >>> 7);
    const s0l = ((xl >>> 1) | (xh << 31)) ^ ((xl >>> 8) | (xh << 24)) ^ ((xl >>> 7) | (xh << 25));
    // σ1(x) = ROTR^19 ^ ROTR^61 ^ SHR^6 of W[t-2]; ROTR^61 is ROTR^29 with the halves swapped.
    xh = w[t - 4] as number;
    xl = w[t - 3] as number;
    const s1h = ((xh >>> 19) | (xl << 13)) ^ ((xl >>> 29) | (xh << 3)) ^ (xh >>> 6);
    const s1l = ((xl >>> 19) | (xh << 13)) ^ ((xh >>> 29) | (xl << 3)) ^ ((xl >>> 6) | (xh << 26));
    // W[t] = σ1 + W[t-7] + σ0 + W[t-16], summing the low halves as exact doubles first.
    const lo = (s1l >>> 0) + ((w[t - 13] as number) >>> 0) + (s0l >>> 0) + ((w[t - 31] as number) >>> 0);
    const hi = s1h + (w[t - 14] as number) + s0h + (w[t - 32] as number) + ((lo / 0x100000000) | 0);
    w[t] = hi | 0;
    w[t + 1] = lo | 0;
  }
  let ah = state[0] as number;
  let al = state[1] as number;
  let bh = state[2] as number;
  let bl = state[3] as number;
  let ch = state[4] as number;
  let cl = state[5] as number;
  let dh = state[6] as number;
  let dl = state[7] as number;
  let eh = state[8] as number;
  let el = state[9] as number;
  let fh = state[10] as number;
  let fl = state[11] as number;
  let gh = state[12] as number;
  let gl = state[13] as number;
  let hh = state[14] as number;
  let hl = state[15] as number;
  for (let t = 0; t < 160; t += 2) {
    // Σ1(e) = ROTR^14 ^ ROTR^18 ^ ROTR^41 (= ROTR^9 swapped)
    const S1h = ((eh >>> 14) | (el << 18)) ^ ((eh >>> 18) | (el << 14)) ^ ((el >>> 9) | (eh << 23));
    const S1l = ((el >>> 14) | (eh << 18)) ^ ((el >>> 18) | (eh << 14)) ^ ((eh >>> 9) | (el << 23));
    const chh = (eh & fh) ^ (~eh & gh);
    const chl = (el & fl) ^ (~el & gl);
    // T1 = h + Σ1(e) + Ch(e,f,g) + K[t] + W[t]
    const t1lo =
      (hl >>> 0) + (S1l >>> 0) + (chl >>> 0) + ((k512[t + 1] as number) >>> 0) + ((w[t + 1] as number) >>> 0);
    const t1h = (hh + S1h + chh + (k512[t] as number) + (w[t] as number) + ((t1lo / 0x100000000) | 0)) | 0;
    const t1l = t1lo | 0;
    // Σ0(a) = ROTR^28 ^ ROTR^34 (= ROTR^2 swapped) ^ ROTR^39 (= ROTR^7 swapped)
    const S0h = ((ah >>> 28) | (al << 4)) ^ ((al >>> 2) | (ah << 30)) ^ ((al >>> 7) | (ah << 25));
    const S0l = ((al >>> 28) | (ah << 4)) ^ ((ah >>> 2) | (al << 30)) ^ ((ah >>> 7) | (al << 25));
    const majh = (ah & bh) ^ (ah & ch) ^ (bh & ch);
    const majl = (al & bl) ^ (al & cl) ^ (bl & cl);
    // T2 = Σ0(a) + Maj(a,b,c)
    const t2lo = (S0l >>> 0) + (majl >>> 0);
    const t2h = (S0h + majh + ((t2lo / 0x100000000) | 0)) | 0;
    const t2l = t2lo | 0;
    hh = gh;
    hl = gl;
    gh = fh;
    gl = fl;
    fh = eh;
    fl = el;
    const elo = (dl >>> 0) + (t1l >>> 0);
    eh = (dh + t1h + ((elo / 0x100000000) | 0)) | 0;
    el = elo | 0;
    dh = ch;
    dl = cl;
    ch = bh;
    cl = bl;
    bh = ah;
    bl = al;
    const alo = (t1l >>> 0) + (t2l >>> 0);
    ah = (t1h + t2h + ((alo / 0x100000000) | 0)) | 0;
    al = alo | 0;
  }
  add64(state, 0, ah, al);
  add64(state, 2, bh, bl);
  add64(state, 4, ch, cl);
  add64(state, 6, dh, dl);
  add64(state, 8, eh, el);
  add64(state, 10, fh, fl);
  add64(state, 12, gh, gl);
  add64(state, 14, hh, hl);
}

function add64(state: Int32Array, i: number, h: number, l: number): void {
  const lo = ((state[i + 1] as number) >>> 0) + (l >>> 0);
  state[i] = (state[i] as number) + h + ((lo / 0x100000000) | 0);
  state[i + 1] = lo;
}
