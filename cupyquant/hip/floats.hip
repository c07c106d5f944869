// Unquantized tensors: block_size 1, so decode8 reads 8 consecutive elements
// (sub is always 0). Inside the dequantization skeleton the 8 elements start
// 16-byte aligned in shared memory; the byte path covers any other caller.

// F32: the stored bits, unchanged.
struct Decoder_F32 {
    static constexpr int block_size = 1;
    static constexpr int type_size = 4;
    __device__ static void decode8(const cq_u8* b, int, const void*, float* v) {
        if (cq_aligned16(b)) {
            const uint4 w0 = reinterpret_cast<const uint4*>(b)[0];
            const uint4 w1 = reinterpret_cast<const uint4*>(b)[1];
            v[0] = __uint_as_float(w0.x); v[1] = __uint_as_float(w0.y);
            v[2] = __uint_as_float(w0.z); v[3] = __uint_as_float(w0.w);
            v[4] = __uint_as_float(w1.x); v[5] = __uint_as_float(w1.y);
            v[6] = __uint_as_float(w1.z); v[7] = __uint_as_float(w1.w);
        } else {
#pragma unroll
            for (int i = 0; i < 8; ++i) v[i] = __uint_as_float(cq_load_u32(b + 4 * i));
        }
    }
};

// The 8 little-endian 16-bit words at b.
__device__ __forceinline__ void cq_load8_u16(const cq_u8* b, cq_u16* h) {
    if (cq_aligned16(b)) {
        const uint4 w = reinterpret_cast<const uint4*>(b)[0];
        const cq_u32 ws[4] = {w.x, w.y, w.z, w.w};
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            h[2 * i] = (cq_u16)(ws[i] & 0xffffu);
            h[2 * i + 1] = (cq_u16)(ws[i] >> 16);
        }
    } else {
#pragma unroll
        for (int i = 0; i < 8; ++i) h[i] = cq_load_u16(b + 2 * i);
    }
}

// F16: widened exactly (subnormals, infinities and NaN kept).
struct Decoder_F16 {
    static constexpr int block_size = 1;
    static constexpr int type_size = 2;
    __device__ static void decode8(const cq_u8* b, int, const void*, float* v) {
        cq_u16 h[8];
        cq_load8_u16(b, h);
#pragma unroll
        for (int i = 0; i < 8; ++i) v[i] = cq_half_to_float(h[i]);
    }
};

// BF16: the 16 stored bits are the high half of the float32.
struct Decoder_BF16 {
    static constexpr int block_size = 1;
    static constexpr int type_size = 2;
    __device__ static void decode8(const cq_u8* b, int, const void*, float* v) {
        cq_u16 h[8];
        cq_load8_u16(b, h);
#pragma unroll
        for (int i = 0; i < 8; ++i) v[i] = __uint_as_float((cq_u32)h[i] << 16);
    }
};
