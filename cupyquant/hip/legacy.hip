// Legacy ggml formats: 32 values a block, one float16 scale (and offset).

// Q4_0: d (f16), qs[16]. Value j < 16 is the low nibble of qs[j], value
// j >= 16 the high nibble of qs[j - 16]; x = d * (q - 8).
struct Decoder_Q4_0 {
    static constexpr int block_size = 32;
    static constexpr int type_size = 18;
    __device__ static void decode8(const cq_u8* b, int sub, const void*, float* v) {
        const float d = cq_load_half(b);
        const cq_u8* qs = b + 2 + (sub & 1) * 8;
        const int shift = (sub >> 1) * 4;
#pragma unroll
        for (int i = 0; i < 8; ++i) v[i] = CQ_MUL(d, (float)(((qs[i] >> shift) & 15) - 8));
    }
};

// The 4-bit parts of values [8*sub, 8*sub + 8) in the Q4_0 layout (shared by
// Q4_1, Q5_0, Q5_1): value j < 16 is the low nibble of qs[j], value j >= 16
// the high nibble of qs[j - 16].
__device__ __forceinline__ void cq_legacy_nibbles8(const cq_u8* qs, int sub, int* q) {
    const cq_u8* p = qs + (sub & 1) * 8;
    const int shift = (sub >> 1) * 4;
#pragma unroll
    for (int i = 0; i < 8; ++i) q[i] = (p[i] >> shift) & 15;
}

// Q4_1: d (f16), m (f16), qs[16]; x = (d * q) + m.
struct Decoder_Q4_1 {
    static constexpr int block_size = 32;
    static constexpr int type_size = 20;
    __device__ static void decode8(const cq_u8* b, int sub, const void*, float* v) {
        const float d = cq_load_half(b);
        const float m = cq_load_half(b + 2);
        int q[8];
        cq_legacy_nibbles8(b + 4, sub, q);
#pragma unroll
        for (int i = 0; i < 8; ++i) v[i] = CQ_ADD(CQ_MUL(d, (float)q[i]), m);
    }
};

// Q5_0: d (f16), qh (u32, little-endian), qs[16]. Bit 4 of value j is bit j
// of qh, the low 4 bits as in Q4_0; x = d * (q - 16).
struct Decoder_Q5_0 {
    static constexpr int block_size = 32;
    static constexpr int type_size = 22;
    __device__ static void decode8(const cq_u8* b, int sub, const void*, float* v) {
        const float d = cq_load_half(b);
        const int hb = b[2 + sub];  // bits 8*sub .. 8*sub + 7 of qh (signed: q - 16 < 0)
        int q[8];
        cq_legacy_nibbles8(b + 6, sub, q);
#pragma unroll
        for (int i = 0; i < 8; ++i) v[i] = CQ_MUL(d, (float)((q[i] | (((hb >> i) & 1) << 4)) - 16));
    }
};

// Q5_1: d (f16), m (f16), qh (u32), qs[16]; q as in Q5_0; x = (d * q) + m.
struct Decoder_Q5_1 {
    static constexpr int block_size = 32;
    static constexpr int type_size = 24;
    __device__ static void decode8(const cq_u8* b, int sub, const void*, float* v) {
        const float d = cq_load_half(b);
        const float m = cq_load_half(b + 2);
        const int hb = b[4 + sub];
        int q[8];
        cq_legacy_nibbles8(b + 8, sub, q);
#pragma unroll
        for (int i = 0; i < 8; ++i)
            v[i] = CQ_ADD(CQ_MUL(d, (float)(q[i] | (((hb >> i) & 1) << 4))), m);
    }
};

// Q8_0: d (f16), qs[32] (int8); x = q * d.
struct Decoder_Q8_0 {
    static constexpr int block_size = 32;
    static constexpr int type_size = 34;
    __device__ static void decode8(const cq_u8* b, int sub, const void*, float* v) {
        const float d = cq_load_half(b);
        const cq_u8* qs = b + 2 + sub * 8;
#pragma unroll
        for (int i = 0; i < 8; ++i) v[i] = CQ_MUL((float)(cq_i8)qs[i], d);
    }
};
