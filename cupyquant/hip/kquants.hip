// K-quant formats: 256-value super-blocks of 16- or 32-value sub-blocks, each
// sub-block with a small integer scale (and minimum) times a float16 scale.
// decode8 decodes values [8*sub, 8*sub + 8) of one block (sub = 0..31); the
// float32 operations and their order are those of gguf.quants.

// Q2_K: scales[16], qs[64], d (f16), dmin (f16). Scale byte e/16: low nibble
// times d, high nibble times dmin. Value 128*h + 32*s + j is bits 2s..2s+1 of
// qs[32*h + j]; x = (d * sc) * q - (dmin * m).
struct Decoder_Q2_K {
    static constexpr int block_size = 256;
    static constexpr int type_size = 84;
    __device__ static void decode8(const cq_u8* b, int sub, const void*, float* v) {
        const float d = cq_load_half(b + 80);
        const float dmin = cq_load_half(b + 82);
        const int sc = b[sub >> 1];
        const float dl = CQ_MUL(d, (float)(sc & 15));
        const float ml = CQ_MUL(dmin, (float)(sc >> 4));
        const cq_u8* qs = b + 16 + (sub >> 4) * 32 + (sub & 3) * 8;
        const int shift = ((sub >> 2) & 3) * 2;
#pragma unroll
        for (int i = 0; i < 8; ++i) v[i] = CQ_SUB(CQ_MUL(dl, (float)((qs[i] >> shift) & 3)), ml);
    }
};

// Q3_K: hmask[32], qs[64], scales[12], d (f16). Value 128*h + 32*s + j has its
// low 2 bits at bits 2s..2s+1 of qs[32*h + j] and its high bit at bit 4h+s of
// hmask[j]; q = low - 4 when that bit is clear. Scale i (per 16 values) has
// its low nibble in byte i (i < 8) or the high nibble of byte i - 8, and its
// top two bits at bits 2*(i/4).. of byte 8 + i%4; x = (d * (sc - 32)) * q.
struct Decoder_Q3_K {
    static constexpr int block_size = 256;
    static constexpr int type_size = 110;
    __device__ static void decode8(const cq_u8* b, int sub, const void*, float* v) {
        const float d = cq_load_half(b + 108);
        const cq_u8* sc = b + 96;
        const int is = sub >> 1;
        const int low = is < 8 ? (sc[is] & 15) : (sc[is - 8] >> 4);
        const int high = (sc[8 + (is & 3)] >> (2 * (is >> 2))) & 3;
        const float dl = CQ_MUL(d, (float)((low | (high << 4)) - 32));
        const int j0 = (sub & 3) * 8;
        const cq_u8* qs = b + 32 + (sub >> 4) * 32 + j0;
        const cq_u8* hm = b + j0;
        const int shift = ((sub >> 2) & 3) * 2;
        const int bit = sub >> 2;
#pragma unroll
        for (int i = 0; i < 8; ++i) {
            const int q = ((qs[i] >> shift) & 3) - (((hm[i] >> bit) & 1) ? 0 : 4);
            v[i] = CQ_MUL(dl, (float)q);
        }
    }
};

// The 6-bit scale and minimum of 32-value sub-block sb (Q4_K, Q5_K) from the
// 12 scale bytes s: sb < 4: s[sb] & 63, s[sb + 4] & 63; sb >= 4: the low
// nibble / high nibble of s[sb + 4] with the top two bits of s[sb - 4] / s[sb].
__device__ __forceinline__ void cq_k_scale_min(const cq_u8* s, int sb, int* sc, int* m) {
    if (sb < 4) {
        *sc = s[sb] & 63;
        *m = s[sb + 4] & 63;
    } else {
        *sc = (s[sb + 4] & 15) | ((s[sb - 4] >> 6) << 4);
        *m = (s[sb + 4] >> 4) | ((s[sb] >> 6) << 4);
    }
}

// Q4_K: d (f16), dmin (f16), scales[12], qs[128]. Value 64*c + 32*s + j is
// nibble s of qs[32*c + j]; x = (d * sc) * q - (dmin * m).
struct Decoder_Q4_K {
    static constexpr int block_size = 256;
    static constexpr int type_size = 144;
    __device__ static void decode8(const cq_u8* b, int sub, const void*, float* v) {
        const float d = cq_load_half(b);
        const float dmin = cq_load_half(b + 2);
        const int sb = sub >> 2;
        int sc, m;
        cq_k_scale_min(b + 4, sb, &sc, &m);
        const float dsc = CQ_MUL(d, (float)sc);
        const float dm = CQ_MUL(dmin, (float)m);
        const cq_u8* qs = b + 16 + (sb >> 1) * 32 + (sub & 3) * 8;
        const int shift = (sb & 1) * 4;
#pragma unroll
        for (int i = 0; i < 8; ++i) v[i] = CQ_SUB(CQ_MUL(dsc, (float)((qs[i] >> shift) & 15)), dm);
    }
};

// Q5_K: d (f16), dmin (f16), scales[12], qh[32], qs[128]. The low 4 bits as
// in Q4_K; bit 4 of value 32*k + j is bit k of qh[j].
struct Decoder_Q5_K {
    static constexpr int block_size = 256;
    static constexpr int type_size = 176;
    __device__ static void decode8(const cq_u8* b, int sub, const void*, float* v) {
        const float d = cq_load_half(b);
        const float dmin = cq_load_half(b + 2);
        const int sb = sub >> 2;
        int sc, m;
        cq_k_scale_min(b + 4, sb, &sc, &m);
        const float dsc = CQ_MUL(d, (float)sc);
        const float dm = CQ_MUL(dmin, (float)m);
        const int j0 = (sub & 3) * 8;
        const cq_u8* qh = b + 16 + j0;
        const cq_u8* qs = b + 48 + (sb >> 1) * 32 + j0;
        const int shift = (sb & 1) * 4;
#pragma unroll
        for (int i = 0; i < 8; ++i) {
            const int q = ((qs[i] >> shift) & 15) | (((qh[i] >> sb) & 1) << 4);
            v[i] = CQ_SUB(CQ_MUL(dsc, (float)q), dm);
        }
    }
};

// Q6_K: ql[128], qh[64], scales[16] (int8), d (f16). In half h of the block,
// value 128*h + 64*s + j (j < 64) has its low nibble in nibble s of
// ql[64*h + j], and value 128*h + 32*t + j (j < 32) its top two bits at bits
// 2t..2t+1 of qh[32*h + j]; x = (d * sc) * (q - 32), one scale per 16 values.
struct Decoder_Q6_K {
    static constexpr int block_size = 256;
    static constexpr int type_size = 210;
    __device__ static void decode8(const cq_u8* b, int sub, const void*, float* v) {
        const float d = cq_load_half(b + 208);
        const float ds = CQ_MUL(d, (float)(cq_i8)b[192 + (sub >> 1)]);
        const int h = sub >> 4;
        const cq_u8* ql = b + h * 64 + (sub & 7) * 8;
        const cq_u8* qh = b + 128 + h * 32 + (sub & 3) * 8;
        const int lshift = ((sub >> 3) & 1) * 4;
        const int hshift = ((sub >> 2) & 3) * 2;
#pragma unroll
        for (int i = 0; i < 8; ++i) {
            const int q = (((ql[i] >> lshift) & 15) | (((qh[i] >> hshift) & 3) << 4)) - 32;
            v[i] = CQ_MUL(ds, (float)q);
        }
    }
};
