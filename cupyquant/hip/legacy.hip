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
