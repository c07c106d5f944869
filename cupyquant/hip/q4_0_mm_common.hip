// cupyquant: helpers of the fused Q4_0 matrix multiplication kernels
// (q4_0_matmul.hip, q4_0_matvec_int8.hip, q4_0_matmul_sm90.hip).
//
// Concatenated after common.h (no #include; see cupyquant/matmul_kernels.py).
// W has N rows of nb = K / 32 blocks of 18 bytes: float16 d, then 16 bytes qs;
// value j < 16 is (qs[j] & 15) - 8, value j >= 16 is (qs[j - 16] >> 4) - 8,
// each times d. Rows are only 2-byte aligned in general; the host passes a
// "mode": 2 when the weights and the row length are multiples of 16 bytes
// (16-byte copies), 1 when 2-byte aligned, 0 otherwise (byte copies).

#define CQ_QB 18            // bytes per Q4_0 block
#define CQ_MM_THREADS 256   // threads per thread block, every kernel here

#if defined(CQ_CUDA) && defined(__CUDA_ARCH__) && (__CUDA_ARCH__ >= 800)
#define CQ_SM80 1
#endif

#if defined(CQ_HIP) && (defined(__gfx908__) || defined(__gfx90a__) || defined(__gfx940__) || \
                        defined(__gfx941__) || defined(__gfx942__) || defined(__gfx950__))
#define CQ_AMD_MFMA 1  // CDNA: v_mfma_f32_32x32x8f16, wave64
#endif
#if defined(CQ_HIP) && (defined(__gfx1100__) || defined(__gfx1101__) || defined(__gfx1102__) || \
                        defined(__gfx1103__) || defined(__gfx1150__) || defined(__gfx1151__))
#define CQ_AMD_WMMA 1  // RDNA3: v_wmma_f32_16x16x16_f16, wave32
#endif

__device__ __forceinline__ int cq_imin(int a, int b) { return a < b ? a : b; }
__device__ __forceinline__ int cq_imax(int a, int b) { return a > b ? a : b; }
__device__ __forceinline__ cq_u32 cq_umax(cq_u32 a, cq_u32 b) { return a > b ? a : b; }

// Programmatic dependent launch (common.h) of the matrix-vector kernels
// and their activation preparation: wait only, by default (-DCQ_MV_EARLY_TRIGGER=1
// also lets the next grid be scheduled from this one's start; A/B probe only).
#ifndef CQ_MV_EARLY_TRIGGER
#define CQ_MV_EARLY_TRIGGER 0
#endif
#if CQ_MV_EARLY_TRIGGER
#define CQ_MV_GRID_DEPENDENCY() CQ_GRID_DEPENDENCY()
#else
#define CQ_MV_GRID_DEPENDENCY() CQ_GRID_WAIT()
#endif
// The matrix-vector kernels' `mode` argument: bits 0-1 the weights' alignment
// (cq_stage_rows), and CQ_MV_EARLY where the host launches a grid that fills
// every resident slot with programmatic dependent launch: then each thread
// block lets the next grid be scheduled once it has issued its last weight copy
// (its thread blocks take the slots this grid leaves), and asks the L2 cache
// for its first CQ_MV_PF_STAGES weight stages before its wait. On grids that
// leave slots free the next grid's thread blocks would crowd onto the SMs with
// room (4096 x 4096, M = 1: 6.5 -> 7.2 us on the H200), so the host sets the
// bit only on full ones (14336 x 4096, M = 1: 16.2 -> 13.9 us; notes/h200_s15).
#define CQ_MV_EARLY 4
// ... and CQ_MV_CLUSTER where the host launched the K splits of each row tile
// as one thread block cluster (sm_90+, the splits along the cluster's y):
// each split stores its partial sums into split 0's shared memory and leaves,
// and split 0 adds them up, instead of a global workspace, a fence and a
// counter (the host adds those sums' bytes to the dynamic shared memory).
// Never with a queue.
#define CQ_MV_CLUSTER 8
// ... and CQ_MV_READ_ONLY_W where the weights are a read-only tensor (the
// host's QuantizedTensor.read_only: no kernel writes them while they are in
// use): then each thread block copies its first weight stages into shared
// memory before the grid dependency wait (instead of the L2 prefetch), and
// waits after them. The previous grid cannot be writing what it copies; x,
// which that grid may write, and the split sums' workspace and counters are
// still touched only after the wait.
#define CQ_MV_READ_ONLY_W 16
#ifndef CQ_MV_PF_STAGES
#define CQ_MV_PF_STAGES 1
#endif

// ------------------------------------------------------------ thread block clusters
#if defined(CQ_CUDA) && defined(__CUDA_ARCH__) && (__CUDA_ARCH__ >= 900)
#define CQ_CLUSTERS 1
// barrier.cluster in two halves: every thread of the cluster's thread blocks
// arrives (release: its shared-memory writes, also into other thread blocks'
// shared memory, are published; relaxed: nothing is), and a wait returns
// once every thread that has not exited has arrived (acquire). Each thread
// alternates arrive and wait.
__device__ __forceinline__ void cq_cluster_arrive_relaxed() {
    asm volatile("barrier.cluster.arrive.relaxed.aligned;\n" ::: "memory");
}
__device__ __forceinline__ void cq_cluster_arrive_release() {
    asm volatile("barrier.cluster.arrive.release.aligned;\n" ::: "memory");
}
__device__ __forceinline__ void cq_cluster_wait() {
    asm volatile("barrier.cluster.wait.acquire.aligned;\n" ::: "memory");
}
// Store v at shared-window address `addr` (cq_smem_addr) of the cluster's
// thread block `rank` (distributed shared memory).
__device__ __forceinline__ void cq_st_cluster_f32(cq_u32 addr, int rank, float v) {
    cq_u32 remote;
    asm volatile("mapa.shared::cluster.u32 %0, %1, %2;\n" : "=r"(remote) : "r"(addr), "r"(rank));
    asm volatile("st.shared::cluster.f32 [%0], %1;\n" ::"r"(remote), "f"(v) : "memory");
}
#endif

// ------------------------------------------------------------- single stores
__device__ __forceinline__ void cq_store1(float* p, float v) { *p = v; }
__device__ __forceinline__ void cq_store1(cq_f16* p, float v) { p->bits = cq_float_to_half(v); }
__device__ __forceinline__ void cq_store1(cq_bf16* p, float v) { p->bits = cq_float_to_bf16(v); }

// Two consecutive outputs; p must be 2-element aligned.
__device__ __forceinline__ void cq_store2(float* p, float a, float b) {
    *reinterpret_cast<float2*>(p) = make_float2(a, b);
}
__device__ __forceinline__ void cq_store2(cq_f16* p, float a, float b) {
    *reinterpret_cast<cq_u32*>(p) = (cq_u32)cq_float_to_half(a) | ((cq_u32)cq_float_to_half(b) << 16);
}
__device__ __forceinline__ void cq_store2(cq_bf16* p, float a, float b) {
    *reinterpret_cast<cq_u32*>(p) = (cq_u32)cq_float_to_bf16(a) | ((cq_u32)cq_float_to_bf16(b) << 16);
}

// y[r, c] and y[r, c + 1] (c even), bounds-checked against M x N.
template <class OT>
__device__ __forceinline__ void cq_store_pair(OT* y, cq_i64 ldy, int M, int N, int r, int c, float a, float b) {
    if (r >= M || c >= N) return;
    OT* p = y + (cq_i64)r * ldy + c;
    if (c + 1 < N && ((ldy & 1) == 0) && ((((cq_u64)p) & (2 * sizeof(OT) - 1)) == 0)) {
        cq_store2(p, a, b);
    } else {
        cq_store1(p, a);
        if (c + 1 < N) cq_store1(p + 1, b);
    }
}

// ------------------------------------------------------------ staging copies
#if defined(CQ_SM80)
__device__ __forceinline__ cq_u32 cq_smem_addr(const void* p) {
    cq_u32 a;
    asm("{ .reg .u64 t; cvta.to.shared.u64 t, %1; cvt.u32.u64 %0, t; }" : "=r"(a) : "l"(p));
    return a;
}
#endif

// 16 bytes global -> shared (asynchronous on sm_80+).
__device__ __forceinline__ void cq_cp16(void* dst, const void* src) {
#if defined(CQ_SM80)
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(cq_smem_addr(dst)), "l"(src) : "memory");
#else
    *reinterpret_cast<uint4*>(dst) = *reinterpret_cast<const uint4*>(src);
#endif
}
#if defined(CQ_SM80)
// 16 bytes global -> shared at a 32-bit shared-window address (cq_smem_addr):
// the staging loops keep that address in a register instead of converting a
// generic pointer for every copy.
__device__ __forceinline__ void cq_cp16_s(cq_u32 dst, const void* src) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(dst), "l"(src) : "memory");
}
// Same, only where pred != 0 (a predicated instruction, no branch).
__device__ __forceinline__ void cq_cp16_s_if(cq_u32 dst, const void* src, int pred) {
    asm volatile("{ .reg .pred p; setp.ne.b32 p, %2, 0; @p cp.async.cg.shared.global [%0], [%1], 16; }\n" ::"r"(dst),
                 "l"(src), "r"(pred) : "memory");
}
// Same, zero-filled when !valid (src is not read then, but must be a valid pointer).
// (cq_cp16_zfill below: the same at a generic shared pointer.)
__device__ __forceinline__ void cq_cp16_zfill_s(cq_u32 dst, const void* src, bool valid) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(valid ? 16 : 0) : "memory");
}
#endif
// Same, zero-filled when !valid (src is not read then, but must be a valid pointer).
__device__ __forceinline__ void cq_cp16_zfill(void* dst, const void* src, bool valid) {
#if defined(CQ_SM80)
    cq_cp16_zfill_s(cq_smem_addr(dst), src, valid);
#else
    *reinterpret_cast<uint4*>(dst) = valid ? *reinterpret_cast<const uint4*>(src) : make_uint4(0, 0, 0, 0);
#endif
}
__device__ __forceinline__ void cq_cp_commit() {
#if defined(CQ_SM80)
    asm volatile("cp.async.commit_group;\n" ::: "memory");
#endif
}
template <int N>
__device__ __forceinline__ void cq_cp_wait() {
#if defined(CQ_SM80)
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
#endif
}

// Copy `rows` rows of `nbytes` (even) bytes each: row r of src (stride
// src_stride bytes) to dst + r * dst_stride (shared memory). Every thread of
// the block takes part. mode: see the top of this file.
__device__ __forceinline__ void cq_stage_rows(cq_u8* dst, int dst_stride, const cq_u8* src, cq_i64 src_stride,
                                              int rows, int nbytes, int mode) {
    const int tid = threadIdx.x;
    int first_half = 0;  // first u16 word of each row left to copy
    if (mode == 2) {
        const int nvec = nbytes >> 4;
        if (nvec > 0) {
            const int total = rows * nvec;
            for (int i = tid; i < total; i += CQ_MM_THREADS) {
                const int r = i / nvec, c = i - r * nvec;
                cq_cp16(dst + r * dst_stride + c * 16, src + r * src_stride + c * 16);
            }
        }
        first_half = nvec * 8;
    }
    if (mode >= 1) {
        const int nh = (nbytes >> 1) - first_half;
        if (nh > 0) {
            for (int i = tid; i < rows * nh; i += CQ_MM_THREADS) {
                const int r = i / nh, c = first_half + (i - r * nh);
                reinterpret_cast<cq_u16*>(dst + r * dst_stride)[c] =
                    reinterpret_cast<const cq_u16*>(src + r * src_stride)[c];
            }
        }
    } else {
        for (int i = tid; i < rows * nbytes; i += CQ_MM_THREADS) {
            const int r = i / nbytes, c = i - r * nbytes;
            dst[r * dst_stride + c] = src[r * src_stride + c];
        }
    }
}

// ------------------------------------------------- tensor-core helpers (sm_80+)
#if defined(CQ_SM80)
// d = a * b + c, m16n8k16, float32 accumulators; A row-major, B column-major.
__device__ __forceinline__ void cq_mma_f16(float* c, const cq_u32* a, const cq_u32* b) {
    asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}
__device__ __forceinline__ void cq_ldsm_x4(cq_u32* r, const void* p) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(cq_smem_addr(p))
                 : "memory");
}
// atomicAdd with acquire-release semantics at device scope (sm_70+).
__device__ __forceinline__ int cq_atom_add_acq_rel_gpu(int* p, int v) {
    int old;
    asm volatile("atom.add.acq_rel.gpu.s32 %0, [%1], %2;\n" : "=r"(old) : "l"(p), "r"(v) : "memory");
    return old;
}
__device__ __forceinline__ float cq_ld_cg(const float* p) {
    float v;
    asm volatile("ld.global.cg.f32 %0, [%1];\n" : "=f"(v) : "l"(p));
    return v;
}
__device__ __forceinline__ float4 cq_ld_cg4(const float* p) {  // p 16-byte aligned
    float4 v;
    asm volatile("ld.global.cg.v4.f32 {%0, %1, %2, %3}, [%4];\n" : "=f"(v.x), "=f"(v.y), "=f"(v.z), "=f"(v.w) : "l"(p));
    return v;
}
__device__ __forceinline__ cq_u32 cq_lop3_or_and(cq_u32 a, cq_u32 mask, cq_u32 magic) {
    cq_u32 r;  // (a & mask) | magic
    asm("lop3.b32 %0, %1, %2, %3, 0xEA;\n" : "=r"(r) : "r"(a), "r"(mask), "r"(magic));
    return r;
}
__device__ __forceinline__ cq_u32 cq_hfma2(cq_u32 a, cq_u32 b, cq_u32 c) {
    cq_u32 r;
    asm("fma.rn.f16x2 %0, %1, %2, %3;\n" : "=r"(r) : "r"(a), "r"(b), "r"(c));
    return r;
}
// float16x2 of q - 8 (exact) for the nibble pair at bits 0-3 and 16-19 of w
// (HIGH false) or at bits 4-7 and 20-23 (HIGH true): one lop3 puts the pair
// into the mantissas of 1024 (1024 + q, or 1024 + 16 q for the high
// nibbles, which needs no shift), one fma removes the offset (* 1 - 1032, or
// * (1/16) - 72; all exact).
template <bool HIGH>
__device__ __forceinline__ cq_u32 cq_nib_f16(cq_u32 w) {
    return HIGH ? cq_hfma2(cq_lop3_or_and(w, 0x00F000F0u, 0x64006400u), 0x2C002C00u, 0xD480D480u)
                : cq_hfma2(cq_lop3_or_and(w, 0x000F000Fu, 0x64006400u), 0x3C003C00u, 0xE408E408u);
}
// float16x2 of d * (q - 8), one rounding (the product of two float16 values),
// for the nibble pair of w that cq_nib_f16<HIGH> takes; d2: d in both halves.
template <bool HIGH>
__device__ __forceinline__ cq_u32 cq_deq_pair_f16(cq_u32 w, cq_u32 d2) {
    cq_u32 r = cq_nib_f16<HIGH>(w);
    asm("mul.rn.f16x2 %0, %0, %1;\n" : "+r"(r) : "r"(d2));
    return r;
}
// The four A register pairs of one row of one block from its u32 q:
// a[0] = (4t, 4t+2), a[1] = (4t+1, 4t+3), a[2] = (16+4t, 16+4t+2), a[3] = (16+4t+1, 16+4t+3).
__device__ __forceinline__ void cq_mv_decode(cq_u32 q, cq_u32* a) {
    const cq_u32 q8 = q >> 8;
    a[0] = cq_nib_f16<false>(q);
    a[1] = cq_nib_f16<false>(q8);
    a[2] = cq_nib_f16<true>(q);
    a[3] = cq_nib_f16<true>(q8);
}
// c = A * B with fresh float32 accumulators (k = 32: two mma).
__device__ __forceinline__ void cq_mv_mma_block(float* c, const cq_u32* a_lo_g, const cq_u32* b) {
    c[0] = c[1] = c[2] = c[3] = 0.0f;
    cq_mma_f16(c, a_lo_g, b);
    cq_mma_f16(c, a_lo_g + 4, b + 2);
}
#endif

extern __shared__ uint4 cq_dyn_smem[];  // every kernel's dynamic shared memory
