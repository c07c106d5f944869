// 4-bit codebook formats: IQ4_NL, IQ4_XS, MXFP4, NVFP4.
// tables (float32, built on the host from gguf): [0, 16) the codebook as
// floats; MXFP4 and NVFP4: [16, 272) the decoded scale of every scale byte.

// IQ4_NL: d (f16), qs[16], the Q4_0 layout; x = d * kvalues[q].
struct Decoder_IQ4_NL {
    static constexpr int block_size = 32;
    static constexpr int type_size = 18;
    __device__ static void decode8(const cq_u8* b, int sub, const void* tables, float* v) {
        const float* kv = static_cast<const float*>(tables);
        const float d = cq_load_half(b);
        const cq_u8* qs = b + 2 + (sub & 1) * 8;
        const int shift = (sub >> 1) * 4;
#pragma unroll
        for (int i = 0; i < 8; ++i) v[i] = CQ_MUL(d, kv[(qs[i] >> shift) & 15]);
    }
};

// IQ4_XS: d (f16), scales_h (u16), scales_l[4], qs[128]; 8 sub-blocks of 32.
// Sub-block ib: ls = low nibble (ib even) or high nibble (ib odd) of
// scales_l[ib / 2], plus bits 2*ib, 2*ib + 1 of scales_h as bits 4, 5;
// x = (d * (ls - 32)) * kvalues[q], q in qs[16*ib ..] as in IQ4_NL.
struct Decoder_IQ4_XS {
    static constexpr int block_size = 256;
    static constexpr int type_size = 136;
    __device__ static void decode8(const cq_u8* b, int sub, const void* tables, float* v) {
        const float* kv = static_cast<const float*>(tables);
        const int ib = sub >> 2;
        const float d = cq_load_half(b);
        const int lo = (b[4 + (ib >> 1)] >> ((ib & 1) * 4)) & 15;
        const int hi = (cq_load_u16(b + 2) >> (2 * ib)) & 3;
        const float dl = CQ_MUL(d, (float)((lo | (hi << 4)) - 32));
        const cq_u8* qs = b + 8 + 16 * ib + (sub & 1) * 8;
        const int shift = ((sub >> 1) & 1) * 4;
#pragma unroll
        for (int i = 0; i < 8; ++i) v[i] = CQ_MUL(dl, kv[(qs[i] >> shift) & 15]);
    }
};

// MXFP4: e (e8m0), qs[16], the Q4_0 layout; x = scale(e) * kvalues[q].
struct Decoder_MXFP4 {
    static constexpr int block_size = 32;
    static constexpr int type_size = 17;
    __device__ static void decode8(const cq_u8* b, int sub, const void* tables, float* v) {
        const float* kv = static_cast<const float*>(tables);
        const float d = kv[16 + b[0]];
        const cq_u8* qs = b + 1 + (sub & 1) * 8;
        const int shift = (sub >> 1) * 4;
#pragma unroll
        for (int i = 0; i < 8; ++i) v[i] = CQ_MUL(d, kv[(qs[i] >> shift) & 15]);
    }
};

// NVFP4: d[4] (ue4m3), qs[32]; 4 sub-blocks of 16. Sub-block s: values 0-7
// are the low nibbles of qs[8*s ..], values 8-15 the high nibbles;
// x = scale(d[s]) * kvalues[q].
struct Decoder_NVFP4 {
    static constexpr int block_size = 64;
    static constexpr int type_size = 36;
    __device__ static void decode8(const cq_u8* b, int sub, const void* tables, float* v) {
        const float* kv = static_cast<const float*>(tables);
        const int s = sub >> 1;
        const float d = kv[16 + b[s]];
        const cq_u8* qs = b + 4 + 8 * s;
        const int shift = (sub & 1) * 4;
#pragma unroll
        for (int i = 0; i < 8; ++i) v[i] = CQ_MUL(d, kv[(qs[i] >> shift) & 15]);
    }
};
