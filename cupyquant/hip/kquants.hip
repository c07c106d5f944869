// K-quant formats: 256-value super-blocks of 16- or 32-value sub-blocks, each
// sub-block with a small integer scale (and minimum) times a float16 scale.
// decode8 (decode8_scaled with the sub-block's scale computed once per tile,
// see common.h) decodes values [8*sub, 8*sub + 8) of one block (sub = 0..31); the
// float32 operations and their order are those of gguf.quants. Codes are
// extracted a word (four values) at a time.

// Q2_K: scales[16], qs[64], d (f16), dmin (f16). Scale byte e/16: low nibble
// times d, high nibble times dmin. Value 128*h + 32*s + j is bits 2s..2s+1 of
// qs[32*h + j]; x = (d * sc) * q - (dmin * m).
struct Decoder_Q2_K {
    static constexpr int block_size = 256;
    static constexpr int type_size = 84;
    __device__ static void decode8(const cq_u8* b, int sub, const void*, float* v) {
        const float d = cq_load_half_at<2>(b + 80);
        const float dmin = cq_load_half_at<2>(b + 82);
        const int sc = b[sub >> 1];
        const float dl = CQ_MUL(d, cq_i2f(sc & 15));
        const float ml = CQ_MUL(dmin, cq_i2f(sc >> 4));
        const uint2 w = cq_load8<CQ_FIELD_ALIGN(type_size, 16)>(b + 16 + (sub >> 4) * 32 + (sub & 3) * 8);
        const uint2 q = cq_bits8(w, ((sub >> 2) & 3) * 2, 0x03030303u);
#pragma unroll
        for (int i = 0; i < 8; ++i) v[i] = CQ_SUB(CQ_MUL(dl, cq_code_to_float(q, i, 0)), ml);
    }
};

// Q3_K: hmask[32], qs[64], scales[12], d (f16). Value 128*h + 32*s + j has its
// low 2 bits at bits 2s..2s+1 of qs[32*h + j] and its high bit at bit 4h+s of
// hmask[j]; q = low - 4 when that bit is clear, i.e. q = (low | bit << 2) - 4.
// Scale i (per 16 values) has its low nibble in byte i (i < 8) or the high
// nibble of byte i - 8, and its top two bits at bits 2*(i/4).. of byte
// 8 + i%4; x = (d * (sc - 32)) * q.
struct Decoder_Q3_K {
    static constexpr int block_size = 256;
    static constexpr int type_size = 110;
    // 4 blocks an SM: 0.86 of the copy at float16 against 0.83 (H200, same run)
    static constexpr int min_blocks = 4;
    static constexpr int scale_groups = 16;  // one scale per 16 values
    __device__ static float2 group_scale(const cq_u8* b, int is) {
        const float d = cq_load_half_at<2>(b + 108);
        const cq_u8* sc = b + 96;
        const int low = is < 8 ? (sc[is] & 15) : (sc[is - 8] >> 4);
        const int high = (sc[8 + (is & 3)] >> (2 * (is >> 2))) & 3;
        return make_float2(CQ_MUL(d, cq_i2f((low | (high << 4)) - 32)), 0.0f);
    }
    __device__ static void decode8_scaled(const cq_u8* b, int sub, float2 scale, float* v) {
        const float dl = scale.x;
        const int j0 = (sub & 3) * 8;
        const uint2 lo = cq_bits8(cq_load8<CQ_FIELD_ALIGN(type_size, 32)>(b + 32 + (sub >> 4) * 32 + j0),
                                  ((sub >> 2) & 3) * 2, 0x03030303u);
        const uint2 hb = cq_bits8(cq_load8<CQ_FIELD_ALIGN(type_size, 0)>(b + j0), sub >> 2, 0x01010101u);
        const uint2 q = cq_join8(lo, hb, 2);
#pragma unroll
        for (int i = 0; i < 8; ++i) v[i] = CQ_MUL(dl, cq_code_to_float(q, i, 4));
    }
};

// The 6-bit scale and minimum of 32-value sub-block sb (Q4_K, Q5_K) from the
// 12 scale bytes s: sb < 4: s[sb] & 63, s[sb + 4] & 63; sb >= 4: the low
// nibble / high nibble of s[sb + 4] with the top two bits of s[sb - 4] / s[sb].
// Selects, not branches: the lanes of a warp decode all 8 sub-blocks of one
// block, so a branch on sb would run both sides on every lane.
__device__ __forceinline__ void cq_k_scale_min(const cq_u8* s, int sb, int* sc, int* m) {
    const int x = s[sb], y = s[sb + 4], z = s[(sb + 4) & 7];  // z = s[sb - 4] when sb >= 4
    const bool high = sb >= 4;
    *sc = high ? (y & 15) | ((z >> 6) << 4) : x & 63;
    *m = high ? (y >> 4) | ((x >> 6) << 4) : y & 63;
}

// (d * sc, dmin * m) of sub-block sb of a Q4_K / Q5_K block (same header).
__device__ __forceinline__ float2 cq_k_group_scale(const cq_u8* b, int sb) {
    int sc, m;
    cq_k_scale_min(b + 4, sb, &sc, &m);
    return make_float2(CQ_MUL(cq_load_half_at<2>(b), cq_i2f(sc)), CQ_MUL(cq_load_half_at<2>(b + 2), cq_i2f(m)));
}

// Q4_K: d (f16), dmin (f16), scales[12], qs[128]. Value 64*c + 32*s + j is
// nibble s of qs[32*c + j]; x = (d * sc) * q - (dmin * m).
struct Decoder_Q4_K {
    static constexpr int block_size = 256;
    static constexpr int type_size = 144;
    // 4 blocks an SM: 0.90 of the copy at float16 against 0.86 with 3 (H200, session 9 run 3, notes/h200_s9/probe_dq_tune_f16.txt)
    static constexpr int min_blocks = 4;
    static constexpr int scale_groups = 8;  // (d * sc, dmin * m) per 32 values
    __device__ static float2 group_scale(const cq_u8* b, int sb) { return cq_k_group_scale(b, sb); }
    __device__ static void decode8_scaled(const cq_u8* b, int sub, float2 scale, float* v) {
        const float dsc = scale.x, dm = scale.y;
        const int sb = sub >> 2;
        const uint2 w = cq_load8<CQ_FIELD_ALIGN(type_size, 16)>(b + 16 + (sb >> 1) * 32 + (sub & 3) * 8);
        const uint2 q = cq_bits8(w, (sb & 1) * 4, 0x0F0F0F0Fu);
#pragma unroll
        for (int i = 0; i < 8; ++i) v[i] = CQ_SUB(CQ_MUL(dsc, cq_code_to_float(q, i, 0)), dm);
    }
};

// Q5_K: d (f16), dmin (f16), scales[12], qh[32], qs[128]. The low 4 bits as
// in Q4_K; bit 4 of value 32*k + j is bit k of qh[j].
struct Decoder_Q5_K {
    static constexpr int block_size = 256;
    static constexpr int type_size = 176;
    // 127 registers fully unrolled (2 blocks an SM): 2 groups in flight and
    // 4 blocks an SM measured 0.83 of the copy at float16 against 0.73 (H200).
    static constexpr int min_blocks = 4;
    static constexpr int decode_unroll = 2;
    static constexpr int scale_groups = 8;  // (d * sc, dmin * m) per 32 values
    __device__ static float2 group_scale(const cq_u8* b, int sb) { return cq_k_group_scale(b, sb); }
    __device__ static void decode8_scaled(const cq_u8* b, int sub, float2 scale, float* v) {
        const float dsc = scale.x, dm = scale.y;
        const int sb = sub >> 2;
        const int j0 = (sub & 3) * 8;
        const uint2 hb = cq_bits8(cq_load8<CQ_FIELD_ALIGN(type_size, 16)>(b + 16 + j0), sb, 0x01010101u);
        const uint2 lo = cq_bits8(cq_load8<CQ_FIELD_ALIGN(type_size, 48)>(b + 48 + (sb >> 1) * 32 + j0),
                                  (sb & 1) * 4, 0x0F0F0F0Fu);
        const uint2 q = make_uint2(lo.x | (hb.x << 4), lo.y | (hb.y << 4));
#pragma unroll
        for (int i = 0; i < 8; ++i) v[i] = CQ_SUB(CQ_MUL(dsc, cq_code_to_float(q, i, 0)), dm);
    }
};

// Q6_K: ql[128], qh[64], scales[16] (int8), d (f16). In half h of the block,
// value 128*h + 64*s + j (j < 64) has its low nibble in nibble s of
// ql[64*h + j], and value 128*h + 32*t + j (j < 32) its top two bits at bits
// 2t..2t+1 of qh[32*h + j]; x = (d * sc) * (q - 32), one scale per 16 values.
struct Decoder_Q6_K {
    static constexpr int block_size = 256;
    static constexpr int type_size = 210;
    // 4 blocks an SM (64 registers): 0.91 of the copy at float16 against 0.79
    // unbounded (107 registers) (H200, session 9 run 3, notes/h200_s9/probe_dq_tune_f16.txt)
    static constexpr int min_blocks = 4;
    __device__ static void decode8(const cq_u8* b, int sub, const void*, float* v) {
        const float d = cq_load_half_at<2>(b + 208);
        const float ds = CQ_MUL(d, cq_i2f((cq_i8)b[192 + (sub >> 1)]));
        const int h = sub >> 4;
        const uint2 lo = cq_bits8(cq_load8<CQ_FIELD_ALIGN(type_size, 0)>(b + h * 64 + (sub & 7) * 8),
                                  ((sub >> 3) & 1) * 4, 0x0F0F0F0Fu);
        const uint2 hi = cq_bits8(cq_load8<CQ_FIELD_ALIGN(type_size, 128)>(b + 128 + h * 32 + (sub & 3) * 8),
                                  ((sub >> 2) & 3) * 2, 0x03030303u);
        const uint2 q = cq_join8(lo, hi, 4);
#pragma unroll
        for (int i = 0; i < 8; ++i) v[i] = CQ_MUL(ds, cq_code_to_float(q, i, 32));
    }
};
