// cupyquant: fused Q4_0 matrix multiplication, y[m, n] = sum_k x[m, k] * W[n, k].
//
// Concatenated after common.h, q4_0_mm_common.hip (the Q4_0 layout, the
// staging copies and the tensor-core helpers) and q4_0_matvec_tc.hip (the
// tensor-core matrix-vector kernels, cq_q4_0_mv_tc_* and
// cq_q4_0_xprep_f16x2, instantiated at the end of this file); no #include,
// see cupyquant/matmul_kernels.py.
//
// Kernels (every one launched with CQ_MM_THREADS threads):
//   cq_q4_0_mv_gen_*   portable matrix-vector (any wave size), M <= 8
//   cq_q4_0_mm_tc_*    matrix-matrix on NVIDIA tensor cores (sm_80+), any M
//   cq_q4_0_mm_gen_*   matrix-matrix: AMD MFMA (CDNA) / WMMA (RDNA3) / portable FMA
// On targets without the instructions a kernel compiles to an empty body; the
// host never launches it there.

// ===================================================================
// Matrix-vector, portable: one warp a weight row at a time; lane l takes
// block l / 4 of each group of CQ_WARP_SIZE / 4 blocks and values
// {4c..4c+3, 16+4c..16+4c+3} of it (c = l % 4). float32 products and sums.
// ===================================================================
template <class XT>
__device__ __forceinline__ void cq_load_x8(const XT* p, float* v);
template <>
__device__ __forceinline__ void cq_load_x8<float>(const float* p, float* v) {
    const float4 a = *reinterpret_cast<const float4*>(p);
    const float4 b = *reinterpret_cast<const float4*>(p + 16);
    v[0] = a.x; v[1] = a.y; v[2] = a.z; v[3] = a.w;
    v[4] = b.x; v[5] = b.y; v[6] = b.z; v[7] = b.w;
}
template <>
__device__ __forceinline__ void cq_load_x8<cq_f16>(const cq_f16* p, float* v) {
    const uint2 a = *reinterpret_cast<const uint2*>(p);
    const uint2 b = *reinterpret_cast<const uint2*>(p + 16);
    v[0] = cq_half_to_float((cq_u16)(a.x & 0xffffu)); v[1] = cq_half_to_float((cq_u16)(a.x >> 16));
    v[2] = cq_half_to_float((cq_u16)(a.y & 0xffffu)); v[3] = cq_half_to_float((cq_u16)(a.y >> 16));
    v[4] = cq_half_to_float((cq_u16)(b.x & 0xffffu)); v[5] = cq_half_to_float((cq_u16)(b.x >> 16));
    v[6] = cq_half_to_float((cq_u16)(b.y & 0xffffu)); v[7] = cq_half_to_float((cq_u16)(b.y >> 16));
}

template <class XT, class OT>
__device__ __forceinline__ void cq_mv_gen(const cq_u8* __restrict__ w, cq_i64 row_bytes, int N, int nb,
                                          const XT* __restrict__ x, cq_i64 ldx, int M, OT* __restrict__ y,
                                          cq_i64 ldy, int mode) {
    constexpr int NW = CQ_MM_THREADS / CQ_WARP_SIZE;
    constexpr int BPI = CQ_WARP_SIZE / 4;  // blocks per warp and iteration
    const int lane = threadIdx.x % CQ_WARP_SIZE, warp = threadIdx.x / CQ_WARP_SIZE;
    const int c = lane & 3, bo = lane / 4;
    for (int r = blockIdx.x * NW + warp; r < N; r += gridDim.x * NW) {
        const cq_u8* wr = w + (cq_i64)r * row_bytes;
        float acc[8];
#pragma unroll
        for (int m = 0; m < 8; ++m) acc[m] = 0.0f;
        for (int b = bo; b < nb; b += BPI) {
            const cq_u8* blk = wr + (cq_i64)b * CQ_QB;
            float d;
            cq_u32 q;
            if (mode >= 1) {
                const cq_u16* h = reinterpret_cast<const cq_u16*>(blk);
                d = cq_half_to_float(h[0]);
                q = (cq_u32)h[1 + 2 * c] | ((cq_u32)h[2 + 2 * c] << 16);
            } else {
                d = cq_load_half(blk);
                q = cq_load_u32(blk + 2 + 4 * c);
            }
            float wv[8];
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                wv[e] = (float)((int)((q >> (8 * e)) & 15u) - 8);
                wv[4 + e] = (float)((int)((q >> (8 * e + 4)) & 15u) - 8);
            }
#pragma unroll
            for (int m = 0; m < 8; ++m) {
                if (m < M) {
                    float xv[8];
                    cq_load_x8<XT>(x + (cq_i64)m * ldx + (cq_i64)b * 32 + 4 * c, xv);
                    float s = 0.0f;
#pragma unroll
                    for (int e = 0; e < 8; ++e) s = fmaf(wv[e], xv[e], s);
                    acc[m] = fmaf(d, s, acc[m]);
                }
            }
        }
#pragma unroll
        for (int m = 0; m < 8; ++m) {
            if (m < M) {
                const float v = cq_warp_sum(acc[m]);
                if (lane == 0) cq_store1(y + (cq_i64)m * ldy + r, v);
            }
        }
    }
}

// ===================================================================
// Matrix-matrix, tensor cores (NVIDIA sm_80+): thread-block tile 128 x 128,
// 8 warps of 64 x 32, k steps of 32 (one Q4_0 block). x (float16, rows
// 16-byte aligned) goes through a 4-stage cp.async pipeline into XOR-swizzled
// shared memory and ldmatrix; the raw weights come in chunks of 8 blocks per
// row (double-buffered) and are dequantized to float16 in registers as the
// "B" operand (k in natural order: thread t needs qs bytes 2t, 2t+1, 2t+8, 2t+9).
// ===================================================================
#define CQ_MM_BM 128
#define CQ_MM_BN 128
#define CQ_MM_SA 4
#define CQ_MM_A_BYTES (CQ_MM_BM * 64)
#define CQ_MM_W_ROW (8 * CQ_QB)
#define CQ_MM_W_BYTES (CQ_MM_BN * CQ_MM_W_ROW)
#define CQ_MM_SMEM (CQ_MM_SA * CQ_MM_A_BYTES + 2 * CQ_MM_W_BYTES)  // 69632 bytes, dynamic

template <class OT>
__device__ __forceinline__ void cq_mm_tc(const cq_u8* __restrict__ w, cq_i64 row_bytes, int N, int nb,
                                         const cq_u16* __restrict__ x, cq_i64 ldx, int M, OT* __restrict__ y,
                                         cq_i64 ldy, int mode) {
#if defined(CQ_SM80)
    cq_u8* sA = reinterpret_cast<cq_u8*>(cq_dyn_smem);
    cq_u8* sW = sA + CQ_MM_SA * CQ_MM_A_BYTES;
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int g = lane >> 2, t = lane & 3;
    const int wm = warp >> 2, wn = warp & 3;
    const int m0 = blockIdx.x * CQ_MM_BM, n0 = blockIdx.y * CQ_MM_BN;
    const int wrows = cq_imin(CQ_MM_BN, N - n0);
    const cq_u8* wt = w + (cq_i64)n0 * row_bytes;

    auto issue = [&](int j) {
        if (j < nb) {
            cq_u8* a = sA + (j % CQ_MM_SA) * CQ_MM_A_BYTES;
#pragma unroll
            for (int cc = 0; cc < 2; ++cc) {
                const int c = tid + cc * CQ_MM_THREADS;
                const int r = c >> 2, kc = c & 3;
                const bool ok = m0 + r < M;
                const cq_u16* src = ok ? x + (cq_i64)(m0 + r) * ldx + (cq_i64)j * 32 + kc * 8 : x;
                cq_cp16_zfill(a + r * 64 + ((kc ^ ((r >> 1) & 3)) << 4), src, ok);
            }
            if ((j & 7) == 0) {
                const int nbl = cq_imin(8, nb - j);
                cq_stage_rows(sW + ((j >> 3) & 1) * CQ_MM_W_BYTES, CQ_MM_W_ROW, wt + (cq_i64)j * CQ_QB, row_bytes,
                              wrows, nbl * CQ_QB, mode);
            }
        }
        cq_cp_commit();
    };

    float acc[4][4][4];
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int jn = 0; jn < 4; ++jn)
#pragma unroll
            for (int e = 0; e < 4; ++e) acc[i][jn][e] = 0.0f;

#pragma unroll
    for (int i = 0; i < CQ_MM_SA - 1; ++i) issue(i);

    for (int j = 0; j < nb; ++j) {
        cq_cp_wait<CQ_MM_SA - 2>();
        __syncthreads();
        issue(j + CQ_MM_SA - 1);
        const cq_u8* a = sA + (j % CQ_MM_SA) * CQ_MM_A_BYTES;
        const cq_u8* wb = sW + ((j >> 3) & 1) * CQ_MM_W_BYTES + (j & 7) * CQ_QB;
        cq_u32 af[4][2][4];
#pragma unroll
        for (int i = 0; i < 4; ++i)
#pragma unroll
            for (int s = 0; s < 2; ++s) {
                const int row = wm * 64 + i * 16 + (lane & 15);
                const int kc = 2 * s + (lane >> 4);
                cq_ldsm_x4(af[i][s], a + row * 64 + ((kc ^ ((row >> 1) & 3)) << 4));
            }
        cq_u32 bfr[4][2][2];
#pragma unroll
        for (int jn = 0; jn < 4; ++jn) {
            const cq_u8* p = wb + (wn * 32 + jn * 8 + g) * CQ_MM_W_ROW;
            const cq_u32 d = *reinterpret_cast<const cq_u16*>(p);
            const cq_u32 d2 = d | (d << 16);
            const cq_u32 u0 = *reinterpret_cast<const cq_u16*>(p + 2 + 2 * t);
            const cq_u32 u1 = *reinterpret_cast<const cq_u16*>(p + 10 + 2 * t);
            const cq_u32 s0 = __byte_perm(u0, 0u, 0x4140), s1 = __byte_perm(u1, 0u, 0x4140);
            bfr[jn][0][0] = cq_deq_pair_f16<false>(s0, d2);
            bfr[jn][0][1] = cq_deq_pair_f16<false>(s1, d2);
            bfr[jn][1][0] = cq_deq_pair_f16<true>(s0, d2);
            bfr[jn][1][1] = cq_deq_pair_f16<true>(s1, d2);
        }
#pragma unroll
        for (int i = 0; i < 4; ++i)
#pragma unroll
            for (int jn = 0; jn < 4; ++jn)
#pragma unroll
                for (int s = 0; s < 2; ++s) cq_mma_f16(acc[i][jn], af[i][s], bfr[jn][s]);
    }
    cq_cp_wait<0>();

#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int jn = 0; jn < 4; ++jn) {
            const int r = m0 + wm * 64 + i * 16 + g;
            const int c = n0 + wn * 32 + jn * 8 + 2 * t;
            cq_store_pair(y, ldy, M, N, r, c, acc[i][jn][0], acc[i][jn][1]);
            cq_store_pair(y, ldy, M, N, r + 8, c, acc[i][jn][2], acc[i][jn][3]);
        }
#endif
}

// ===================================================================
// Matrix-matrix, every platform: thread-block tile 64 x 64, k steps of 32.
// x (float16) and the dequantized weights (float16, rounded once from the
// exact float32 value) are staged in shared memory, then multiplied by
// MFMA 32x32x8 (AMD CDNA, 4 waves of 64), WMMA 16x16x16 (AMD RDNA3, 8 waves
// of 32) or plain float32 FMA (everything else), always into float32.
// ===================================================================
#define CQ_MG_T 64
#define CQ_MG_LD 40  // shared row stride in float16 elements (80 bytes)

#if defined(CQ_AMD_MFMA)
typedef _Float16 cq_h4 __attribute__((ext_vector_type(4)));
typedef float cq_f32x16 __attribute__((ext_vector_type(16)));
#endif
#if defined(CQ_AMD_WMMA)
typedef _Float16 cq_h16 __attribute__((ext_vector_type(16)));
typedef float cq_f32x8 __attribute__((ext_vector_type(8)));
#endif

template <class OT>
__device__ __forceinline__ void cq_mm_gen(const cq_u8* __restrict__ w, cq_i64 row_bytes, int N, int nb,
                                          const cq_u16* __restrict__ x, cq_i64 ldx, int M, OT* __restrict__ y,
                                          cq_i64 ldy) {
    __shared__ uint4 as_v[CQ_MG_T * CQ_MG_LD / 8];
    __shared__ uint4 ws_v[CQ_MG_T * CQ_MG_LD / 8];
    cq_u16* As = reinterpret_cast<cq_u16*>(as_v);
    cq_u16* Ws = reinterpret_cast<cq_u16*>(ws_v);
    const int tid = threadIdx.x;
    const int m0 = blockIdx.x * CQ_MG_T, n0 = blockIdx.y * CQ_MG_T;
    const int lr = tid >> 2, lc = tid & 3;  // loader: tile row, 8-value chunk

#if defined(CQ_AMD_MFMA)
    const int lane = tid & 63, wave = tid >> 6;
    const int wm = wave >> 1, wn = wave & 1;
    cq_f32x16 acc;
    for (int v = 0; v < 16; ++v) acc[v] = 0.0f;
#elif defined(CQ_AMD_WMMA)
    const int lane = tid & 31, wave = tid >> 5;
    const int wm = wave >> 1, wn = wave & 1;
    cq_f32x8 acc[2];
    for (int j = 0; j < 2; ++j)
        for (int v = 0; v < 8; ++v) acc[j][v] = 0.0f;
#else
    const int tx = tid & 15, ty = tid >> 4;
    float acc[4][4];
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] = 0.0f;
#endif

    for (int b = 0; b < nb; ++b) {
        uint4 av = make_uint4(0, 0, 0, 0);
        if (m0 + lr < M) av = *reinterpret_cast<const uint4*>(x + (cq_i64)(m0 + lr) * ldx + (cq_i64)b * 32 + lc * 8);
        *reinterpret_cast<uint4*>(As + lr * CQ_MG_LD + lc * 8) = av;
        cq_u32 wv[4] = {0u, 0u, 0u, 0u};
        if (n0 + lr < N) {
            const cq_u8* blk = w + (cq_i64)(n0 + lr) * row_bytes + (cq_i64)b * CQ_QB;
            const float d = cq_load_half(blk);
            const cq_u8* qs = blk + 2 + (lc & 1) * 8;
            const int shift = (lc >> 1) * 4;
#pragma unroll
            for (int i = 0; i < 4; ++i) {
                const float v0 = CQ_MUL(d, (float)(((qs[2 * i] >> shift) & 15) - 8));
                const float v1 = CQ_MUL(d, (float)(((qs[2 * i + 1] >> shift) & 15) - 8));
                wv[i] = (cq_u32)cq_float_to_half(v0) | ((cq_u32)cq_float_to_half(v1) << 16);
            }
        }
        *reinterpret_cast<uint4*>(Ws + lr * CQ_MG_LD + lc * 8) = make_uint4(wv[0], wv[1], wv[2], wv[3]);
        __syncthreads();
#if defined(CQ_AMD_MFMA)
        // A[i][k]: lane i + 32 * (k / 4), item k % 4; B[k][j] likewise.
#pragma unroll
        for (int kk = 0; kk < 4; ++kk) {
            const int k = kk * 8 + 4 * (lane >> 5);
            const cq_h4 a = *reinterpret_cast<const cq_h4*>(As + (wm * 32 + (lane & 31)) * CQ_MG_LD + k);
            const cq_h4 bb = *reinterpret_cast<const cq_h4*>(Ws + (wn * 32 + (lane & 31)) * CQ_MG_LD + k);
            acc = __builtin_amdgcn_mfma_f32_32x32x8f16(a, bb, acc, 0, 0, 0);
        }
#elif defined(CQ_AMD_WMMA)
#pragma unroll
        for (int s = 0; s < 2; ++s) {
            // A: lane l (and l + 16) holds row l % 16, k 0..15; B: column l % 16.
            cq_h16 a;
            __builtin_memcpy(&a, As + (wm * 16 + (lane & 15)) * CQ_MG_LD + 16 * s, sizeof(a));
#pragma unroll
            for (int j = 0; j < 2; ++j) {
                cq_h16 bb;
                __builtin_memcpy(&bb, Ws + (wn * 32 + j * 16 + (lane & 15)) * CQ_MG_LD + 16 * s, sizeof(bb));
                acc[j] = __builtin_amdgcn_wmma_f32_16x16x16_f16_w32(a, bb, acc[j]);
            }
        }
#else
#pragma unroll 8
        for (int k = 0; k < 32; ++k) {
            float av4[4], bv4[4];
#pragma unroll
            for (int i = 0; i < 4; ++i) {
                av4[i] = cq_half_to_float(As[(ty * 4 + i) * CQ_MG_LD + k]);
                bv4[i] = cq_half_to_float(Ws[(tx * 4 + i) * CQ_MG_LD + k]);
            }
#pragma unroll
            for (int i = 0; i < 4; ++i)
#pragma unroll
                for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(av4[i], bv4[j], acc[i][j]);
        }
#endif
        __syncthreads();
    }

#if defined(CQ_AMD_MFMA)
    // D[i][j]: lane j + 32 * ((i / 4) % 2), item (i % 4) + 4 * (i / 8).
    for (int v = 0; v < 16; ++v) {
        const int r = m0 + wm * 32 + 8 * (v >> 2) + 4 * (lane >> 5) + (v & 3);
        const int c = n0 + wn * 32 + (lane & 31);
        if (r < M && c < N) cq_store1(y + (cq_i64)r * ldy + c, acc[v]);
    }
#elif defined(CQ_AMD_WMMA)
    // D (wave32): lane l, item v holds row 2v + l / 16, column l % 16.
    for (int j = 0; j < 2; ++j)
        for (int v = 0; v < 8; ++v) {
            const int r = m0 + wm * 16 + 2 * v + (lane >> 4);
            const int c = n0 + wn * 32 + j * 16 + (lane & 15);
            if (r < M && c < N) cq_store1(y + (cq_i64)r * ldy + c, acc[j][v]);
        }
#else
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) {
            const int r = m0 + ty * 4 + i, c = n0 + tx * 4 + j;
            if (r < M && c < N) cq_store1(y + (cq_i64)r * ldy + c, acc[i][j]);
        }
#endif
}

// ------------------------------------------------------------ instantiations
#define CQ_MV_GEN_KERNEL(XN, XT, ON, OT)                                                                 \
    extern "C" __global__ void __launch_bounds__(CQ_MM_THREADS) cq_q4_0_mv_gen_##XN##_##ON(             \
        const cq_u8* __restrict__ w, cq_i64 row_bytes, int N, int nb, const XT* __restrict__ x,          \
        cq_i64 ldx, int M, OT* __restrict__ y, cq_i64 ldy, int mode) {                                  \
        cq_mv_gen<XT, OT>(w, row_bytes, N, nb, x, ldx, M, y, ldy, mode);                                \
    }
#define CQ_MM_KERNELS(ON, OT)                                                                            \
    extern "C" __global__ void __launch_bounds__(CQ_MM_THREADS, 1) cq_q4_0_mm_tc_##ON(                  \
        const cq_u8* __restrict__ w, cq_i64 row_bytes, int N, int nb, const cq_u16* __restrict__ x,      \
        cq_i64 ldx, int M, OT* __restrict__ y, cq_i64 ldy, int mode) {                                  \
        cq_mm_tc<OT>(w, row_bytes, N, nb, x, ldx, M, y, ldy, mode);                                     \
    }                                                                                                   \
    extern "C" __global__ void __launch_bounds__(CQ_MM_THREADS) cq_q4_0_mm_gen_##ON(                    \
        const cq_u8* __restrict__ w, cq_i64 row_bytes, int N, int nb, const cq_u16* __restrict__ x,      \
        cq_i64 ldx, int M, OT* __restrict__ y, cq_i64 ldy) {                                            \
        cq_mm_gen<OT>(w, row_bytes, N, nb, x, ldx, M, y, ldy);                                          \
    }

#define CQ_MATMUL_FOR_OUT(ON, OT)               \
    CQ_MV_TC_GEOM(ON, OT, 16, 64, 3)            \
    CQ_MV_TC_GEOM(ON, OT, 16, 64, 2)            \
    CQ_MV_TC_KERNEL_XS(f16, false, ON, OT, 16, 64, 2, true, false, _xsq) \
    CQ_MV_TC_KERNEL_XS(f16, false, ON, OT, 16, 64, 2, true, true, _xsqc) \
    CQ_MV_TC_KERNEL_XSB(f16, false, ON, OT, 16, 64, 2, true, false, _xsqb2, 2) \
    CQ_MV_TC_KERNEL_XSB(f16, false, ON, OT, 16, 64, 2, true, true, _xsqcb2, 2) \
    CQ_MV_TC_KERNEL_XSB(f16, false, ON, OT, 16, 64, 2, true, false, _xsqb3, 3) \
    CQ_MV_TC_KERNEL_XSB(f16, false, ON, OT, 16, 64, 2, true, true, _xsqcb3, 3) \
    CQ_MV_TC_KERNEL_XS1(ON, OT, 16, 64, 2, false, false, _xs1) \
    CQ_MV_TC_KERNEL_XSB(f32, true, ON, OT, 16, 64, 2, false, false, _xsb3, 3) \
    CQ_MV_TC_KERNEL_XS(f32, true, ON, OT, 16, 64, 2, true, false, _xsq) \
    CQ_MV_TC_KERNEL_XSB(f32, true, ON, OT, 16, 64, 2, true, false, _xsqb2, 2) \
    CQ_MV_TC_KERNEL_XSB(f32, true, ON, OT, 16, 64, 2, true, false, _xsqb3, 3) \
    CQ_MV_TC_KERNEL_XS1(ON, OT, 16, 64, 2, true, false, _xsq1) \
    CQ_MV_TC_KERNEL_XS1(ON, OT, 16, 64, 2, true, true, _xsq1c) \
    CQ_MV_TC_KERNEL(f16, false, 1, ON, OT, 16, 32, 3)  \
    CQ_MV_TC_KERNEL_XS(f32, true, ON, OT, 16, 32, 3, false, false, _xs) \
    CQ_MV_TC_KERNEL_XR(ON, OT, 64, 32, 2, 2, _xr) \
    CQ_MV_GEN_KERNEL(f16, cq_f16, ON, OT)       \
    CQ_MV_GEN_KERNEL(f32, float, ON, OT)        \
    CQ_MM_KERNELS(ON, OT)

CQ_MATMUL_FOR_OUT(f32, float)
CQ_MATMUL_FOR_OUT(f16, cq_f16)
CQ_MATMUL_FOR_OUT(bf16, cq_bf16)
