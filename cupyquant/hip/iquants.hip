// Codebook ("grid") i-quants: IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S,
// IQ1_S, IQ1_M. 256 values a block; each group of 8 values is one 8-value
// grid row (or two 4-value rows) with 8 sign bits and a sub-block scale.
//
// tables (uint8, built on the host from gguf; cupyquant/formats/iquants.py):
// the grid as rows of 8 bytes (IQ2_*: uint8, IQ1_*: int8 -1/0/1), one 8-byte
// load a row, or rows of 4 bytes (IQ3_*), one 4-byte load a row; for IQ2_XXS,
// IQ2_XS and IQ3_XXS the 128-byte sign table ksigns right after the grid.

#define CQ_IQ2XXS_KSIGNS 2048  // 256 rows x 8 bytes
#define CQ_IQ2XS_KSIGNS 4096   // 512 rows x 8 bytes
#define CQ_IQ3XXS_KSIGNS 1024  // 256 rows x 4 bytes

// v[i] = db * g[i], negated where bit i of s is set (g[i]: byte i of the
// row, lo holding bytes 0-3). The negation is exact, so this equals the
// reference's (db * grid) * sign bit for bit.
__device__ __forceinline__ void cq_iq_signed8(float db, cq_u32 lo, cq_u32 hi, cq_u32 s, float* v) {
    const uint2 g = make_uint2(lo, hi);
#pragma unroll
    for (int i = 0; i < 8; ++i) {
        const float x = CQ_MUL(db, cq_code_to_float(g, i, 0));
        v[i] = __uint_as_float(__float_as_uint(x) ^ (((s >> i) & 1u) << 31));
    }
}

__device__ __forceinline__ uint2 cq_iq_row8(const void* tables, cq_u32 row) {
    return static_cast<const uint2*>(tables)[row];
}

__device__ __forceinline__ cq_u32 cq_iq_row4(const void* tables, cq_u32 row) {
    return static_cast<const cq_u32*>(tables)[row];
}

__device__ __forceinline__ cq_u32 cq_iq_byte(const void* tables, int offset) {
    return static_cast<const cq_u8*>(tables)[offset];
}

// (d * (0.5 + s)) * f, two roundings (f = 0.25 for IQ2, 0.5 for IQ3_XXS).
__device__ __forceinline__ float cq_iq_half_scale(float d, cq_u32 s, float f) {
    return CQ_MUL(CQ_MUL(d, CQ_ADD(0.5f, cq_i2f((int)s))), f);
}

// IQ2_XXS: d (f16), 8 x (a0, a1) little-endian uint32, one pair per 32 values.
// Group j of a pair: grid row = byte j of a0 (256 x 8), signs = ksigns[bits
// 7j..7j+6 of a1], s = a1 >> 28; x = ((d * (0.5 + s)) * 0.25) * grid * sign.
struct Decoder_IQ2_XXS {
    static constexpr int block_size = 256;
    static constexpr int type_size = 66;
    __device__ static void decode8(const cq_u8* b, int sub, const void* tables, float* v) {
        const int j = sub & 3;
        const cq_u8* q = b + 2 + 8 * (sub >> 2);
        const cq_u32 a1 = cq_load_u32(q + 4);
        const uint2 g = cq_iq_row8(tables, q[j]);
        const cq_u32 s = cq_iq_byte(tables, CQ_IQ2XXS_KSIGNS + ((a1 >> (7 * j)) & 127u));
        const float db = cq_iq_half_scale(cq_load_half_at<2>(b), a1 >> 28, 0.25f);
        cq_iq_signed8(db, g.x, g.y, s, v);
    }
};

// IQ2_XS: d (f16), qs: 32 little-endian uint16 q (one per 8 values), scales[8].
// Grid row = q & 511 (512 x 8), signs = ksigns[q >> 9]; s = nibble (low first)
// k of scales for values 16k..16k+15; x = ((d * (0.5 + s)) * 0.25) * grid * sign.
struct Decoder_IQ2_XS {
    static constexpr int block_size = 256;
    static constexpr int type_size = 74;
    __device__ static void decode8(const cq_u8* b, int sub, const void* tables, float* v) {
        const cq_u32 q = cq_load_u16(b + 2 + 2 * sub);
        const uint2 g = cq_iq_row8(tables, q & 511u);
        const cq_u32 s = cq_iq_byte(tables, CQ_IQ2XS_KSIGNS + (q >> 9));
        const cq_u32 sc = (b[66 + (sub >> 2)] >> (4 * ((sub >> 1) & 1))) & 15u;
        const float db = cq_iq_half_scale(cq_load_half_at<2>(b), sc, 0.25f);
        cq_iq_signed8(db, g.x, g.y, s, v);
    }
};

// IQ2_S: d (f16), qs[32], signs[32], qh[8], scales[8]. Group g: grid row =
// qs[g] | (bits 2(g%4), 2(g%4)+1 of qh[g/4]) << 8 (1024 x 8), signs = signs[g];
// s as in IQ2_XS; x = ((d * (0.5 + s)) * 0.25) * grid * sign.
struct Decoder_IQ2_S {
    static constexpr int block_size = 256;
    static constexpr int type_size = 82;
    __device__ static void decode8(const cq_u8* b, int sub, const void* tables, float* v) {
        const cq_u32 row = b[2 + sub] | (((cq_u32)(b[66 + (sub >> 2)] >> (2 * (sub & 3))) & 3u) << 8);
        const uint2 g = cq_iq_row8(tables, row);
        const cq_u32 sc = (b[74 + (sub >> 2)] >> (4 * ((sub >> 1) & 1))) & 15u;
        const float db = cq_iq_half_scale(cq_load_half_at<2>(b), sc, 0.25f);
        cq_iq_signed8(db, g.x, g.y, b[34 + sub], v);
    }
};

// IQ3_XXS: d (f16), qs[64] (one grid row of 4 per byte, 256 x 4), then 8
// little-endian uint32 a, one per 32 values: signs of group j = ksigns[bits
// 7j..7j+6], s = a >> 28; x = ((d * (0.5 + s)) * 0.5) * grid * sign.
struct Decoder_IQ3_XXS {
    static constexpr int block_size = 256;
    static constexpr int type_size = 98;
    __device__ static void decode8(const cq_u8* b, int sub, const void* tables, float* v) {
        const cq_u32 a = cq_load_u32(b + 66 + 4 * (sub >> 2));
        const cq_u32 g0 = cq_iq_row4(tables, b[2 + 2 * sub]);
        const cq_u32 g1 = cq_iq_row4(tables, b[3 + 2 * sub]);
        const cq_u32 s = cq_iq_byte(tables, CQ_IQ3XXS_KSIGNS + ((a >> (7 * (sub & 3))) & 127u));
        const float db = cq_iq_half_scale(cq_load_half_at<2>(b), a >> 28, 0.5f);
        cq_iq_signed8(db, g0, g1, s, v);
    }
};

// IQ3_S: d (f16), qs[64], qh[8], signs[32], scales[4]. Row of values 4k..4k+3
// = qs[k] | (bit k%8 of qh[k/8]) << 8 (512 x 4); signs of group g = signs[g];
// s = nibble (low first) k of scales for values 32k..32k+31;
// x = (d * (1 + 2s)) * grid * sign.
struct Decoder_IQ3_S {
    static constexpr int block_size = 256;
    static constexpr int type_size = 110;
    // 80 registers fully unrolled (3 blocks an SM): 2 groups in flight and
    // 4 blocks an SM measured 0.85 of the copy at float16 against 0.79 (H200).
    static constexpr int min_blocks = 4;
    static constexpr int decode_unroll = 2;
    __device__ static void decode8(const cq_u8* b, int sub, const void* tables, float* v) {
        const cq_u32 qh = (cq_u32)b[66 + (sub >> 2)] >> (2 * (sub & 3));
        const cq_u32 g0 = cq_iq_row4(tables, b[2 + 2 * sub] | ((qh & 1u) << 8));
        const cq_u32 g1 = cq_iq_row4(tables, b[3 + 2 * sub] | ((qh & 2u) << 7));
        const int ib = sub >> 2;
        const cq_u32 sc = (b[106 + (ib >> 1)] >> (4 * (ib & 1))) & 15u;
        const float db = CQ_MUL(cq_load_half_at<2>(b), cq_i2f((int)(1u + 2u * sc)));
        cq_iq_signed8(db, g0, g1, b[74 + sub], v);
    }
};

// v[i] = dl * (q[i] + delta), q[i] the signed byte i of an int8 grid row.
// (Flipping the top bit of an int8 gives q + 128 as an unsigned byte.)
__device__ __forceinline__ void cq_iq1_values8(float dl, float delta, uint2 g, float* v) {
    const uint2 u = make_uint2(g.x ^ 0x80808080u, g.y ^ 0x80808080u);
#pragma unroll
    for (int i = 0; i < 8; ++i) v[i] = CQ_MUL(dl, CQ_ADD(cq_code_to_float(u, i, 128), delta));
}

// IQ1_S: d (f16), qs[32], qh: 8 little-endian uint16. Group 4i+j: grid row
// = qs[4i+j] | (bits 3j..3j+2 of qh[i]) << 8 (2048 x 8, int8 -1/0/1);
// s = bits 12-14 of qh[i], delta = -0.125 if bit 15 else 0.125;
// x = (d * (2s + 1)) * (grid + delta).
struct Decoder_IQ1_S {
    static constexpr int block_size = 256;
    static constexpr int type_size = 50;
    __device__ static void decode8(const cq_u8* b, int sub, const void* tables, float* v) {
        const cq_u32 qh = cq_load_u16(b + 34 + 2 * (sub >> 2));
        const uint2 g = cq_iq_row8(tables, b[2 + sub] | (((qh >> (3 * (sub & 3))) & 7u) << 8));
        const float dl = CQ_MUL(cq_load_half_at<2>(b), cq_i2f((int)(2u * ((qh >> 12) & 7u) + 1u)));
        cq_iq1_values8(dl, (qh & 0x8000u) ? -0.125f : 0.125f, g, v);
    }
};

// IQ1_M: qs[32], qh[16], scales: 4 little-endian uint16 w. Group g: nibble
// g%2 (low first) of qh[g/2] = high 3 bits of the grid row (with qs[g]) and,
// in bit 3, the sign of delta; s = bits 3(k%4)..+2 of w[k/4], k = g/2; the
// float16 d is the top nibbles of w[0], w[1], w[2], w[3] (low first);
// x = (d * (2s + 1)) * (grid + delta).
struct Decoder_IQ1_M {
    static constexpr int block_size = 256;
    static constexpr int type_size = 56;
    // 2 groups in flight: 0.87 of the copy at float16 against 0.82 with 8 (H200, session 9 run 3, notes/h200_s9/probe_dq_tune_f16.txt)
    static constexpr int decode_unroll = 2;
    __device__ static void decode8(const cq_u8* b, int sub, const void* tables, float* v) {
        const cq_u32 nib = ((cq_u32)b[32 + (sub >> 1)] >> (4 * (sub & 1))) & 15u;
        const uint2 g = cq_iq_row8(tables, b[sub] | ((nib & 7u) << 8));
        const cq_u16 dbits = (cq_u16)((b[49] >> 4) | (b[51] & 0xf0u) | ((cq_u32)(b[53] >> 4) << 8) |
                                      ((cq_u32)(b[55] & 0xf0u) << 8));
        const int k = sub >> 1;
        const cq_u32 s = (cq_load_u16(b + 48 + 2 * (k >> 2)) >> (3 * (k & 3))) & 7u;
        const float dl = CQ_MUL(cq_half_to_float(dbits), cq_i2f((int)(2u * s + 1u)));
        cq_iq1_values8(dl, (nib & 8u) ? -0.125f : 0.125f, g, v);
    }
};
