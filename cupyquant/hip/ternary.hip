// Ternary formats: x = d * t, t in {-1, 0, 1}.

// TQ1_0: qs[48], qh[4], d (f16); 256 values, five base-3 digits a byte.
// Digit k of byte b is ((b * 3^k mod 256) * 3 >> 8) - 1. qs[0:32] holds values
// 0-159 (32*k + j), qs[32:48] values 160-239 (160 + 16*k + j), qh values
// 240-255 (240 + 4*k + j, k < 4).
__device__ __forceinline__ int cq_tq1_digit(int byte, int pow3) {
    return ((((byte * pow3) & 255) * 3) >> 8) - 1;
}

struct Decoder_TQ1_0 {
    static constexpr int block_size = 256;
    static constexpr int type_size = 54;
    __device__ static void decode8(const cq_u8* b, int sub, const void*, float* v) {
        const float d = cq_load_half(b + 52);
        int t[8];
        if (sub < 20) {                       // values 0-159: 8 bytes, one digit
            const int k = sub >> 2;
            const int pow3 = k == 0 ? 1 : k == 1 ? 3 : k == 2 ? 9 : k == 3 ? 27 : 81;
            const cq_u8* q = b + 8 * (sub & 3);
#pragma unroll
            for (int i = 0; i < 8; ++i) t[i] = cq_tq1_digit(q[i], pow3);
        } else if (sub < 30) {                // values 160-239
            const int k = (sub - 20) >> 1;
            const int pow3 = k == 0 ? 1 : k == 1 ? 3 : k == 2 ? 9 : k == 3 ? 27 : 81;
            const cq_u8* q = b + 32 + 8 * (sub & 1);
#pragma unroll
            for (int i = 0; i < 8; ++i) t[i] = cq_tq1_digit(q[i], pow3);
        } else {                              // values 240-255: 4 bytes, two digits
            const int p0 = sub == 30 ? 1 : 9;
            const cq_u8* q = b + 48;
#pragma unroll
            for (int i = 0; i < 4; ++i) {
                t[i] = cq_tq1_digit(q[i], p0);
                t[i + 4] = cq_tq1_digit(q[i], p0 * 3);
            }
        }
#pragma unroll
        for (int i = 0; i < 8; ++i) v[i] = CQ_MUL(d, (float)t[i]);
    }
};

// TQ2_0: qs[64], d (f16); value 128*h + 32*k + j is bits 2k, 2k+1 of
// qs[32*h + j], minus 1.
struct Decoder_TQ2_0 {
    static constexpr int block_size = 256;
    static constexpr int type_size = 66;
    __device__ static void decode8(const cq_u8* b, int sub, const void*, float* v) {
        const float d = cq_load_half(b + 64);
        const int h = sub >> 4;
        const int k = (sub >> 2) & 3;
        const cq_u8* q = b + 32 * h + 8 * (sub & 3);
#pragma unroll
        for (int i = 0; i < 8; ++i) v[i] = CQ_MUL(d, (float)(((q[i] >> (2 * k)) & 3) - 1));
    }
};
