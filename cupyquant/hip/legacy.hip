// Legacy ggml formats: 32 values a block, one float16 scale (and offset).
// Values are decoded four to a word: codes are masked a word at a time and
// turned into floats by cq_code_to_float (common.h).

// The 5-bit codes of Q5_0/Q5_1: the 4-bit part as above, bit 4 of value
// 8*sub + i is bit i of qh byte hb.
template <int A>
__device__ __forceinline__ uint2 cq_q5_codes8(const cq_u8* qs, int sub, cq_u32 hb) {
    return cq_join8(cq_q4_codes8<A>(qs, sub), cq_spread_bits8(hb), 4);
}

// Q4_0: d (f16), qs[16]; x = d * (q - 8).
struct Decoder_Q4_0 {
    static constexpr int block_size = 32;
    static constexpr int type_size = 18;
    __device__ static void decode8(const cq_u8* b, int sub, const void*, float* v) {
        const float d = cq_load_half_at<2>(b);
        const uint2 q = cq_q4_codes8<CQ_FIELD_ALIGN(type_size, 2)>(b + 2, sub);
#pragma unroll
        for (int i = 0; i < 8; ++i) v[i] = CQ_MUL(d, cq_code_to_float(q, i, 8));
    }
};

// Q4_1: d (f16), m (f16), qs[16]; x = (d * q) + m.
struct Decoder_Q4_1 {
    static constexpr int block_size = 32;
    static constexpr int type_size = 20;
    __device__ static void decode8(const cq_u8* b, int sub, const void*, float* v) {
        const float d = cq_load_half_at<2>(b);
        const float m = cq_load_half_at<2>(b + 2);
        const uint2 q = cq_q4_codes8<CQ_FIELD_ALIGN(type_size, 4)>(b + 4, sub);
#pragma unroll
        for (int i = 0; i < 8; ++i) v[i] = CQ_ADD(CQ_MUL(d, cq_code_to_float(q, i, 0)), m);
    }
};

// Q5_0: d (f16), qh (u32, little-endian), qs[16]. Bit 4 of value j is bit j
// of qh, the low 4 bits as in Q4_0; x = d * (q - 16).
struct Decoder_Q5_0 {
    static constexpr int block_size = 32;
    static constexpr int type_size = 22;
    __device__ static void decode8(const cq_u8* b, int sub, const void*, float* v) {
        const float d = cq_load_half_at<2>(b);
        const uint2 q = cq_q5_codes8<CQ_FIELD_ALIGN(type_size, 6)>(b + 6, sub, b[2 + sub]);
#pragma unroll
        for (int i = 0; i < 8; ++i) v[i] = CQ_MUL(d, cq_code_to_float(q, i, 16));
    }
};

// Q5_1: d (f16), m (f16), qh (u32), qs[16]; q as in Q5_0; x = (d * q) + m.
struct Decoder_Q5_1 {
    static constexpr int block_size = 32;
    static constexpr int type_size = 24;
    // 2 groups in flight and 4 blocks an SM measured 0.91 of the copy at
    // float16 against 0.88 fully unrolled (H200).
    static constexpr int min_blocks = 4;
    static constexpr int decode_unroll = 2;
    __device__ static void decode8(const cq_u8* b, int sub, const void*, float* v) {
        const float d = cq_load_half_at<2>(b);
        const float m = cq_load_half_at<2>(b + 2);
        const uint2 q = cq_q5_codes8<CQ_FIELD_ALIGN(type_size, 8)>(b + 8, sub, b[4 + sub]);
#pragma unroll
        for (int i = 0; i < 8; ++i) v[i] = CQ_ADD(CQ_MUL(d, cq_code_to_float(q, i, 0)), m);
    }
};

// Q8_0: d (f16), qs[32] (int8); x = q * d. Flipping the top bit of an int8
// gives q + 128 as an unsigned byte.
struct Decoder_Q8_0 {
    static constexpr int block_size = 32;
    static constexpr int type_size = 34;
    __device__ static void decode8(const cq_u8* b, int sub, const void*, float* v) {
        const float d = cq_load_half_at<2>(b);
        uint2 q = cq_load8<CQ_FIELD_ALIGN(type_size, 2)>(b + 2 + sub * 8);
        q.x ^= 0x80808080u;
        q.y ^= 0x80808080u;
#pragma unroll
        for (int i = 0; i < 8; ++i) v[i] = CQ_MUL(cq_code_to_float(q, i, 128), d);
    }
};
