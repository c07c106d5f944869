// 4-bit codebook formats: IQ4_NL, IQ4_XS, MXFP4, NVFP4.
// tables (float32, built on the host from gguf): [0, 16) the codebook as
// floats; MXFP4 and NVFP4: [16, 272) the decoded scale of every scale byte.
// The skeleton copies them into shared memory (shared_table_bytes).

// v[i] = d * kv[code i], codes one a byte in q.
// Codes are at most 15, so each byte of q * 4 is its entry's byte offset
// (no carry into the next byte): one byte permute extracts it (the compiler's
// own extraction took a mask and a shift-add a value).
__device__ __forceinline__ void cq_codebook8(float d, const float* kv, uint2 q, float* v) {
    const uint2 off = make_uint2(q.x << 2, q.y << 2);
    const cq_u8* kb = reinterpret_cast<const cq_u8*>(kv);
#pragma unroll
    for (int i = 0; i < 8; ++i)
        v[i] = CQ_MUL(d, *reinterpret_cast<const float*>(kb + cq_prmt(i < 4 ? off.x : off.y, 0u, 0x4440u | (i & 3))));
}

// IQ4_NL: d (f16), qs[16], the Q4_0 layout; x = d * kvalues[q].
struct Decoder_IQ4_NL {
    static constexpr int block_size = 32;
    static constexpr int type_size = 18;
    static constexpr int shared_table_bytes = 16 * 4;
    __device__ static void decode8(const cq_u8* b, int sub, const void* tables, float* v) {
        cq_codebook8(cq_load_half_at<2>(b), static_cast<const float*>(tables),
                     cq_q4_codes8<CQ_FIELD_ALIGN(type_size, 2)>(b + 2, sub), v);
    }
};

// IQ4_XS: d (f16), scales_h (u16), scales_l[4], qs[128]; 8 sub-blocks of 32.
// Sub-block ib: ls = low nibble (ib even) or high nibble (ib odd) of
// scales_l[ib / 2], plus bits 2*ib, 2*ib + 1 of scales_h as bits 4, 5;
// x = (d * (ls - 32)) * kvalues[q], q in qs[16*ib ..] as in IQ4_NL.
struct Decoder_IQ4_XS {
    static constexpr int block_size = 256;
    static constexpr int type_size = 136;
    static constexpr int shared_table_bytes = 16 * 4;
    // 2 groups in flight: 0.91 of the copy at float16 against 0.84 with 8 (H200, session 9 run 3, notes/h200_s9/probe_dq_tune_f16.txt)
    static constexpr int decode_unroll = 2;
    __device__ static void decode8(const cq_u8* b, int sub, const void* tables, float* v) {
        const int ib = sub >> 2;
        const int lo = (b[4 + (ib >> 1)] >> ((ib & 1) * 4)) & 15;
        const int hi = (cq_load_u16_at<2>(b + 2) >> (2 * ib)) & 3;
        const float dl = CQ_MUL(cq_load_half_at<2>(b), cq_i2f((lo | (hi << 4)) - 32));
        cq_codebook8(dl, static_cast<const float*>(tables),
                     cq_q4_codes8<CQ_FIELD_ALIGN(type_size, 8)>(b + 8 + 16 * ib, sub & 3), v);
    }
};

// MXFP4: e (e8m0), qs[16], the Q4_0 layout; x = scale(e) * kvalues[q].
struct Decoder_MXFP4 {
    static constexpr int block_size = 32;
    static constexpr int type_size = 17;
    static constexpr int shared_table_bytes = 272 * 4;
    // 2 groups in flight: 0.88 of the copy at float16 against 0.87 with 8 (H200, session 9 run 3, notes/h200_s9/probe_dq_tune_f16.txt)
    static constexpr int decode_unroll = 2;
    __device__ static void decode8(const cq_u8* b, int sub, const void* tables, float* v) {
        const float* kv = static_cast<const float*>(tables);
        cq_codebook8(kv[16 + b[0]], kv, cq_q4_codes8<CQ_FIELD_ALIGN(type_size, 1)>(b + 1, sub), v);
    }
};

// NVFP4: d[4] (ue4m3), qs[32]; 4 sub-blocks of 16. Sub-block s: values 0-7
// are the low nibbles of qs[8*s ..], values 8-15 the high nibbles;
// x = scale(d[s]) * kvalues[q].
struct Decoder_NVFP4 {
    static constexpr int block_size = 64;
    static constexpr int type_size = 36;
    static constexpr int shared_table_bytes = 272 * 4;
    __device__ static void decode8(const cq_u8* b, int sub, const void* tables, float* v) {
        const float* kv = static_cast<const float*>(tables);
        const int s = sub >> 1;
        const uint2 q = cq_bits8(cq_load8<CQ_FIELD_ALIGN(type_size, 4)>(b + 4 + 8 * s), (sub & 1) * 4,
                                 0x0F0F0F0Fu);
        cq_codebook8(kv[16 + b[s]], kv, q, v);
    }
};
