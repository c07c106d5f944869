// Ternary formats: x = d * t, t in {-1, 0, 1}.

// TQ1_0: qs[48], qh[4], d (f16); 256 values, five base-3 digits a byte.
// Digit k of byte b is ((b * 3^k mod 256) * 3 >> 8) - 1. qs[0:32] holds values
// 0-159 (32*k + j), qs[32:48] values 160-239 (160 + 16*k + j), qh values
// 240-255 (240 + 4*k + j, k < 4).
struct Decoder_TQ1_0 {
    static constexpr int block_size = 256;
    static constexpr int type_size = 54;
    // 4 blocks an SM (64 registers): 0.89 of the copy at float16 against 0.73
    // unbounded (128 registers) (H200, session 9 run 3, notes/h200_s9/probe_dq_tune_f16.txt)
    static constexpr int min_blocks = 4;
    // digit + 1 (0, 1 or 2) of the group's 8 values, one a byte. Which bytes
    // and which digit are chosen by selects, not branches: the 32 lanes of a
    // warp decode the 32 groups of one block, so a branch per region ran all
    // three regions on every lane (measured 0.57 of the copy bandwidth at
    // float16 output on the H200 with branches). Four bytes are done at once,
    // two per 16-bit lane, so the multiplications cannot carry into a
    // neighbour: ((byte * 3^k) mod 256) * 3 >> 8 for bytes 0, 2 then 1, 3.
    __device__ static uint2 digits8(const cq_u8* b, int sub) {
        const bool tail = sub >= 30;  // values 240-255: 4 bytes, two digits each
        const int k = sub < 20 ? sub >> 2 : !tail ? (sub - 20) >> 1 : 2 * (sub - 30);
        const cq_u32 pow3 = k == 0 ? 1u : k == 1 ? 3u : k == 2 ? 9u : k == 3 ? 27u : 81u;
        // bytes first..first+7; the tail's 4 bytes 48-51 twice (digits k and k + 1)
        const uint2 q = cq_load8<2>(b + (sub < 20 ? 8 * (sub & 3) : !tail ? 32 + 8 * (sub & 1) : 44));
        const cq_u32 words[2] = {tail ? q.y : q.x, q.y};
        const cq_u32 pows[2] = {pow3, tail ? 3u * pow3 : pow3};
        cq_u32 dig[2];
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            const cq_u32 ev = (((words[h] & 0x00FF00FFu) * pows[h]) & 0x00FF00FFu) * 3u;
            const cq_u32 od = ((((words[h] >> 8) & 0x00FF00FFu) * pows[h]) & 0x00FF00FFu) * 3u;
            dig[h] = cq_prmt(ev, od, 0x7351);  // the second byte of each lane, in byte order
        }
        return make_uint2(dig[0], dig[1]);
    }
    __device__ static void decode8(const cq_u8* b, int sub, const void*, float* v) {
        const float d = cq_load_half_at<2>(b + 52);
        const uint2 dig = digits8(b, sub);
#pragma unroll
        for (int i = 0; i < 8; ++i) v[i] = CQ_MUL(d, cq_code_to_float(dig, i, 1));
    }
    // 16-bit output: the group's values are d * -1, d * 0 and d * 1, so those
    // three are converted once and each value's bits are picked by a byte
    // permute selected by its digit.
    static constexpr bool direct16 = true;
    template <cq_u16 (*CONV)(float)>
    __device__ static void decode8_16(const cq_u8* b, int sub, cq_u32* w) {
        const float d = cq_load_half_at<2>(b + 52);
        const uint2 dig = digits8(b, sub);
        // bits of d * t for t = -1 (bytes 0-1), 0 (2-3), 1 (4-5)
        const cq_u32 lo = (cq_u32)CONV(CQ_MUL(d, -1.0f)) | ((cq_u32)CONV(CQ_MUL(d, 0.0f)) << 16);
        const cq_u32 hi = (cq_u32)CONV(CQ_MUL(d, 1.0f));
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            // selector nibbles 2t', 2t' + 1 for each value: its two bytes of lo:hi
            const cq_u32 sel = (h ? dig.y : dig.x) * 0x22u + 0x10101010u;
            w[2 * h] = cq_prmt(lo, hi, sel);          // only the low 4 nibbles count
            w[2 * h + 1] = cq_prmt(lo, hi, sel >> 16);
        }
    }
};

// TQ2_0: qs[64], d (f16); value 128*h + 32*k + j is bits 2k, 2k+1 of
// qs[32*h + j], minus 1.
struct Decoder_TQ2_0 {
    static constexpr int block_size = 256;
    static constexpr int type_size = 66;
    __device__ static void decode8(const cq_u8* b, int sub, const void*, float* v) {
        const float d = cq_load_half_at<2>(b + 64);
        const uint2 w = cq_load8<CQ_FIELD_ALIGN(type_size, 0)>(b + 32 * (sub >> 4) + 8 * (sub & 3));
        const uint2 q = cq_bits8(w, 2 * ((sub >> 2) & 3), 0x03030303u);
#pragma unroll
        for (int i = 0; i < 8; ++i) v[i] = CQ_MUL(d, cq_code_to_float(q, i, 1));
    }
};
