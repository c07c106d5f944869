// Session 30 probe (not shipped: slower than q4_0_matmul.hip's kernels on every
// benchmark shape, notes/h200_s30 runs 1-2). cupyquant: Q4_0 matrix-vector product for one float16 activation row on
// NVIDIA sm_90 (Hopper), the weights copied by the bulk-copy engine (TMA),
// y[n] = sum_k x[k] * W[n, k].
//
// Concatenated after common.h, q4_0_mm_common.hip and q4_0_matmul_sm90.hip
// (the mbarrier helpers; no #include, see cupyquant/matmul_kernels.py).
//
// Why: the cp.async kernels (q4_0_matmul.hip) spend issue slots on copies,
// and on grids of one wave they cannot keep enough bytes in flight an SM.
// Here each warp owns a ring of D slots and streams its own chunks through
// it: one lane a weight row issues one cp.async.bulk of a chunk's KB Q4_0
// blocks (KB * 18 bytes) onto the slot's mbarrier. The warps never wait for
// each other inside a tile; the thread block meets once a tile, to add up the
// warps' partial sums.
//
// Work: a tile is 16 weight rows (the m16n8k16 "A" operand), and its K is cut
// into chunks of KB blocks, chunk u to warp u % NW. A thread block takes tiles
// blockIdx.x, + gridDim.x, ... (the host launches at most one wave), and
// each warp's ring runs on across them, so the next tile's copies are in
// flight while this one is computed.
//
// k order (as q4_0_matmul_sm90.hip's): lane (g, c) = (lane / 4, lane % 4)
// reads qs bytes 2c, 2c + 1, 8 + 2c, 9 + 2c of rows g and g + 8, which hold the
// eight values it needs from the block's two k16 steps; the x "records"
// (16 bytes a block and c, built once a thread block in shared memory)
// hold the B registers in that order. Block values are (q - 8) exactly in
// float16, the products and their sums float32 (mma), each block's sum is
// scaled by its d in float32: the same arithmetic as the other kernels.
//
// Requirements (checked by the host): K a multiple of 256 (so that every
// copy is a multiple of 16 bytes), the weights 16-byte aligned, x float16
// 4-byte aligned.

#if defined(CQ_SM90A)  // the mbarrier helpers of q4_0_matmul_sm90.hip
#define CQ_MVB 1
#endif

// Shared row stride of a slot: KB * 18 bytes, padded so that the eight rows
// g of a warp's reads start four banks apart (the stride in words is 4 mod 8).
#define CQ_MVB_SR(KB) ((KB) * CQ_QB + (((KB) % 16) == 0 ? 16 : 0))
#define CQ_MVB_BAR_BYTES(NW, D) ((((NW) * (D) * 8) + 127) / 128 * 128)
// Dynamic shared memory: barriers, partial sums [2][NW][16], x records [nb][4],
// the rings [NW][D][16 rows]. cupyquant/matmul_kernels.py mvb_smem_bytes mirrors it.
#define CQ_MVB_SMEM(NW, KB, D, NB) \
    (CQ_MVB_BAR_BYTES(NW, D) + 2 * (NW) * 64 + (NB) * 64 + (NW) * (D) * 16 * CQ_MVB_SR(KB))

// flags
#define CQ_MVB_TRIGGER_START 1  // let the next grid be scheduled at once (PDL)
#define CQ_MVB_PREFETCH 2       // ask L2 for the first tile before the grid wait
#define CQ_MVB_TRIGGER_ISSUED 4 // ... once this thread block's last copy is issued

#if defined(CQ_MVB)
__device__ __forceinline__ void cq_bulk_copy(cq_u32 dst, const void* src, cq_u32 bytes, cq_u32 bar) {
    asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];\n"
                 ::"r"(dst), "l"(src), "r"(bytes), "r"(bar) : "memory");
}
__device__ __forceinline__ void cq_bulk_prefetch_l2(const void* src, cq_u32 bytes) {
    asm volatile("cp.async.bulk.prefetch.L2.global [%0], %1;\n" ::"l"(src), "r"(bytes) : "memory");
}
#endif

// TM: a chunk is one 2-D TMA box (16 rows x KB * 18 bytes, rows past N and
// bytes past the row zero-filled) through the tensor map wmap, issued by lane
// 0, into a dense slot (128-byte aligned); otherwise one 1-D bulk copy a row.
template <class OT, int NW, int KB, int D, bool TM>
__device__ __forceinline__ void cq_mv_bulk(const cq_u8* __restrict__ w, const cq_u16* __restrict__ x,
                                           OT* __restrict__ y, int N, int nb, int flags, const void* wmap) {
#if defined(CQ_MVB)
    constexpr int SR = TM ? KB * CQ_QB : CQ_MVB_SR(KB), SLOT = 16 * SR, BAR = CQ_MVB_BAR_BYTES(NW, D);
    const int warp = threadIdx.x / CQ_WARP_SIZE, lane = threadIdx.x % CQ_WARP_SIZE, g = lane >> 2, c = lane & 3;
    const cq_i64 row_bytes = (cq_i64)nb * CQ_QB;
    const int U = (nb + KB - 1) / KB;             // chunks a row
    const int Uw = (U - warp + NW - 1) / NW;       // ... of them this warp's
    const int T = ((N + 15) / 16 - (int)blockIdx.x + (int)gridDim.x - 1) / (int)gridDim.x;  // tiles
    const int total = T * Uw;                      // this warp's chunks, in order
    cq_u8* smem = reinterpret_cast<cq_u8*>(cq_dyn_smem);
    float* part = reinterpret_cast<float*>(smem + BAR);
    uint4* xrec = reinterpret_cast<uint4*>(smem + BAR + 2 * NW * 64);
    const cq_u8* ring = smem + BAR + 2 * NW * 64 + (cq_i64)nb * 64;
    if (TM) ring += (128u - (cq_smem_addr(ring) & 127u)) & 127u;
    ring += warp * D * SLOT;
    const cq_u32 bar0 = cq_smem_addr(smem) + warp * D * 8, ring0 = cq_smem_addr(ring);

    if (threadIdx.x < NW * D) cq_mbar_init(cq_smem_addr(smem) + threadIdx.x * 8, 1);
    cq_fence_mbar_init();
    __syncthreads();
    if ((flags & CQ_MVB_PREFETCH) && threadIdx.x == 0 && T > 0) {
        const int rows = cq_imin(16, N - (int)blockIdx.x * 16);
        cq_bulk_prefetch_l2(w + (cq_i64)blockIdx.x * 16 * row_bytes, (cq_u32)(rows * row_bytes));
    }
    if (flags & CQ_MVB_TRIGGER_START) asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
    asm volatile("griddepcontrol.wait;" ::: "memory");

    // Chunk s of this warp into slot s % D: lane r copies row r of the tile.
    auto issue = [&](int s) {
        const int i = s / Uw, u = s - i * Uw;
        const int tile = (int)blockIdx.x + i * (int)gridDim.x, chunk = warp + NW * u;
        const int rows = cq_imin(16, N - tile * 16);
        const cq_u32 bytes = (cq_u32)cq_imin(KB, nb - chunk * KB) * CQ_QB;
        const cq_u32 bar = bar0 + (s % D) * 8;
        if (TM) {
            if (lane == 0) {
                cq_mbar_expect_tx(bar, SLOT);
                cq_tma_load_2d(ring0 + (s % D) * SLOT, wmap, chunk * (KB * CQ_QB / 8), tile * 16, bar);
            }
            return;
        }
        if (lane == 0) cq_mbar_expect_tx(bar, rows * bytes);
        if (lane < rows)
            cq_bulk_copy(ring0 + (s % D) * SLOT + lane * SR,
                         w + (cq_i64)(tile * 16 + lane) * row_bytes + (cq_i64)chunk * KB * CQ_QB, bytes, bar);
    };
    for (int s = 0; s < D && s < total; ++s) issue(s);
    if ((flags & CQ_MVB_TRIGGER_ISSUED) && total <= D) asm volatile("griddepcontrol.launch_dependents;" ::: "memory");

    // x records of this warp's chunks: record (b, c) = the B registers of
    // lane c's two mma: (x[2c], x[2c+8]), (x[2c+1], x[2c+9]), and the same + 16.
    const cq_u32* x32 = reinterpret_cast<const cq_u32*>(x);
    for (int u = 0; u < Uw; ++u) {
        const int b0 = (warp + NW * u) * KB, nbk = cq_imin(KB, nb - b0);
        for (int r = lane; r < nbk * 4; r += 32) {
            const cq_u32* xb = x32 + (cq_i64)(b0 + (r >> 2)) * 16 + (r & 3);
            const cq_u32 p = xb[0], q = xb[4], s2 = xb[8], t = xb[12];
            xrec[(cq_i64)b0 * 4 + r] = make_uint4(cq_prmt(p, q, 0x5410u), cq_prmt(p, q, 0x7632u),
                                                  cq_prmt(s2, t, 0x5410u), cq_prmt(s2, t, 0x7632u));
        }
    }
    __syncwarp();

    for (int i = 0; i < T; ++i) {
        float acc0 = 0.0f, acc1 = 0.0f;  // rows g and g + 8
        for (int u = 0; u < Uw; ++u) {
            const int s = i * Uw + u, slot = s % D;
            const int b0 = (warp + NW * u) * KB, nbk = cq_imin(KB, nb - b0);
            cq_mbar_wait(bar0 + slot * 8, (s / D) & 1);
            const cq_u8* rg = ring + slot * SLOT + g * SR;
            const uint4* xr = xrec + (cq_i64)b0 * 4 + c;
#pragma unroll 4
            for (int j = 0; j < nbk; ++j) {
                const cq_u8* p0 = rg + j * CQ_QB;
                const cq_u8* p1 = p0 + 8 * SR;
                const cq_u32 q0 = *reinterpret_cast<const cq_u16*>(p0 + 2 + 2 * c) |
                                  ((cq_u32)*reinterpret_cast<const cq_u16*>(p0 + 10 + 2 * c) << 16);
                const cq_u32 q1 = *reinterpret_cast<const cq_u16*>(p1 + 2 + 2 * c) |
                                  ((cq_u32)*reinterpret_cast<const cq_u16*>(p1 + 10 + 2 * c) << 16);
                const float d0 = cq_half_to_float(*reinterpret_cast<const cq_u16*>(p0));
                const float d1 = cq_half_to_float(*reinterpret_cast<const cq_u16*>(p1));
                const uint4 xv = xr[(cq_i64)j * 4];
                cq_u32 a0[4], a1[4];
                cq_mv_decode<false>(q0, a0);
                cq_mv_decode<false>(q1, a1);
                const cq_u32 A0[4] = {a0[0], a1[0], a0[1], a1[1]}, A1[4] = {a0[2], a1[2], a0[3], a1[3]};
                const cq_u32 B0[2] = {xv.x, xv.y}, B1[2] = {xv.z, xv.w};
                float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
                cq_mma_f16(acc, A0, B0);
                cq_mma_f16(acc, A1, B1);
                acc0 = __fmaf_rn(d0, acc[0], acc0);
                acc1 = __fmaf_rn(d1, acc[2], acc1);
            }
            __syncwarp();  // the slot's reads are done before it is refilled
            if (s + D < total) {
                issue(s + D);
                if ((flags & CQ_MVB_TRIGGER_ISSUED) && s + D == total - 1)
                    asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
            }
        }
        float* pt = part + (i & 1) * NW * 16 + warp * 16;
        if (c == 0) {
            pt[g] = acc0;
            pt[g + 8] = acc1;
        }
        __syncthreads();  // one meeting a tile; the partial sums are double-buffered
        if (warp == (i % NW) && lane < 16) {
            const int row = ((int)blockIdx.x + i * (int)gridDim.x) * 16 + lane;
            float sum = 0.0f;
            for (int v = 0; v < NW; ++v) sum += part[(i & 1) * NW * 16 + v * 16 + lane];
            if (row < N) cq_store1(y + row, sum);
        }
    }
#endif
}

#define CQ_MVB_KERNEL(ON, OT, NW, KB, D)                                                                \
    extern "C" __global__ void __launch_bounds__((NW) * 32)                                            \
        cq_q4_0_mv_bulk_##ON##_w##NW##_k##KB##_d##D(const cq_u8* w, const cq_u16* x, OT* y, int N,     \
                                                     int nb, int flags) {                               \
        cq_mv_bulk<OT, NW, KB, D, false>(w, x, y, N, nb, flags, nullptr);                              \
    }
#define CQ_MVB_TM_KERNEL(ON, OT, NW, KB, D)                                                             \
    extern "C" __global__ void __launch_bounds__((NW) * 32)                                            \
        cq_q4_0_mv_bulktm_##ON##_w##NW##_k##KB##_d##D(const CQ_GRID_CONSTANT cq_tensor_map wmap,      \
                                                       const cq_u8* w, const cq_u16* x, OT* y, int N,   \
                                                       int nb, int flags) {                             \
        cq_mv_bulk<OT, NW, KB, D, true>(w, x, y, N, nb, flags, &wmap);                                 \
    }
CQ_MVB_TM_KERNEL(f16, cq_f16, 8, 8, 2)
CQ_MVB_TM_KERNEL(f16, cq_f16, 8, 8, 3)
CQ_MVB_TM_KERNEL(f16, cq_f16, 8, 8, 4)
CQ_MVB_TM_KERNEL(f16, cq_f16, 4, 8, 4)
CQ_MVB_TM_KERNEL(f16, cq_f16, 4, 16, 2)
CQ_MVB_TM_KERNEL(f16, cq_f16, 8, 16, 1)
CQ_MVB_TM_KERNEL(f16, cq_f16, 8, 16, 2)
CQ_MVB_TM_KERNEL(f16, cq_f16, 4, 32, 1)
CQ_MVB_TM_KERNEL(f16, cq_f16, 4, 32, 2)
CQ_MVB_TM_KERNEL(f32, float, 8, 8, 3)
CQ_MVB_KERNEL(f16, cq_f16, 4, 32, 1)
CQ_MVB_KERNEL(f16, cq_f16, 4, 32, 2)
CQ_MVB_KERNEL(f16, cq_f16, 4, 16, 2)
CQ_MVB_KERNEL(f16, cq_f16, 4, 16, 3)
CQ_MVB_KERNEL(f16, cq_f16, 4, 16, 4)
CQ_MVB_KERNEL(f16, cq_f16, 8, 16, 1)
CQ_MVB_KERNEL(f16, cq_f16, 8, 16, 2)
CQ_MVB_KERNEL(f16, cq_f16, 8, 8, 2)
CQ_MVB_KERNEL(f16, cq_f16, 8, 8, 3)
CQ_MVB_KERNEL(f16, cq_f16, 2, 32, 2)
CQ_MVB_KERNEL(f16, cq_f16, 2, 32, 3)
CQ_MVB_KERNEL(f32, float, 4, 32, 2)
