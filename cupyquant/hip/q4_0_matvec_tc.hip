// cupyquant: Q4_0 matrix-vector on NVIDIA tensor cores (sm_80+): y[m, n] =
// sum_k x[m, k] * W[n, k] for M <= 16 activation rows (float16 x) or 8
// (float32 x, as two scaled float16 parts).
//
// Concatenated after common.h and q4_0_mm_common.hip and before
// q4_0_matmul.hip, which instantiates these kernels with the others (no
// #include, see cupyquant/matmul_kernels.py). Kernels (CQ_MM_THREADS
// threads each):
//   cq_q4_0_mv_tc_*      the matrix-vector kernels (instantiated by the
//                        CQ_MV_TC_* macros at the end of this file)
//   cq_q4_0_xprep_f16x2  float32 activations -> two scaled float16 parts
// On targets without the instructions a kernel compiles to an empty body; the
// host never launches it there.

// ===================================================================
// Matrix-vector, tensor cores (NVIDIA sm_80+).
//
// A thread block owns RT weight rows (tiles of 16) and a range of K (split-K
// when there are few rows); it streams that range through an ST-stage
// cp.async pipeline, KB blocks per row and stage. The weights are the
// m16n8k16 "A" operand, dequantized exactly to (q - 8) in registers; the
// activations are the "B" operand, one column per activation row (float16
// input) or per activation row and part (float32 input, scaled by a power of
// two and split into two float16 parts, cq_mv_records_f16x2). Each Q4_0 block is one
// pair of mma (k = 32) into fresh accumulators, which are then scaled by the
// block's d in float32 and summed in float32.
//
// k order inside a block: thread t reads qs bytes 4t..4t+3 (u32 q) and
// dequantizes them exactly to q - 8 with two instructions a pair (a lop3 puts
// a nibble pair into the mantissas of 1024, one fma removes the offset); its
// A register pairs hold block values
// (4t, 4t+2) | (4t+1, 4t+3) for the low nibbles (mma 0) and the same plus 16
// for the high nibbles (mma 1). B (the activations) uses the same order:
// float16 x is permuted in registers, float32 x's parts are written in it.
// ===================================================================

// Geometry (template parameters): RT weight rows per thread block (16, 32 or
// 64: RT / 16 tiles, the 8 warps split as tiles x K-parities), KB blocks per
// row and stage, ST stages. The shared row stride pads KB * 18 bytes so that
// the fragment reads of 8 rows hit distinct banks. Dynamic shared memory:
// cq_mv_smem_bytes(RT, KB, ST).
#define CQ_MV_SR(KB) ((KB) * CQ_QB + ((((KB) / 8) % 2) == 0 ? 16 : 0))
#define CQ_MV_SMEM(RT, KB, ST) ((ST) * (RT) * CQ_MV_SR(KB))
// The XS variant's activation records start over the padding of the ring's
// last row (never read or written): 16 bytes less a thread block, which is
// what a fifth thread block an SM needs with (16, 64, 2) and 8 KiB of records
// (allocations are whole 128-byte units plus 1 KiB the system reserves, out
// of 228 KiB an SM). cupyquant/matmul_kernels.py mv_x_shared_offset mirrors it.
#define CQ_MV_XS_OFFSET(RT, KB, ST) (CQ_MV_SMEM(RT, KB, ST) - (CQ_MV_SR(KB) - (KB) * CQ_QB))

// float32 x: each activation row (of a K split: whatever one set of float32
// sums adds up) is scaled by 2^s, s chosen from its largest |x| so that
// this lands in [2^14, 2^15) (cq_f16x2_scale), and every scaled value v is
// split into two float16 parts: hi, the nearest float16 of v, and lo, the
// nearest of v - hi (exact in float32). hi + lo is v to within 2^-23 of |v|,
// or 2^-39 of the row's largest (float16's subnormals), where the float32
// reference rounds each product to 2^-24. The products of the parts with
// q - 8 are exact, the sums float32; the row's sum is scaled back by 2^-s.
// A row with Inf or NaN keeps s = 0 and gives NaN (as Inf - Inf in lo).
//
// max_bits: the bits of the row's largest |x| (as cq_f16x2_max_bits keeps
// it: Inf / NaN above every finite value). Returns 2^s (unscale: 2^-s), s
// within [-126, 126] so that both are normal floats.
__device__ __forceinline__ float cq_f16x2_scale(cq_u32 max_bits, bool unscale = false) {
    if (max_bits == 0 || max_bits >= 0x7f800000u) return 1.0f;
    const int e = (int)(max_bits >> 23) - 126;  // largest |x| < 2^e (subnormal: 2^-126)
    const int s = cq_imin(126, cq_imax(-126, 15 - e));
    return __uint_as_float((cq_u32)((unscale ? -s : s) + 127) << 23);
}
// Where cq_q4_0_xprep_f16x2's output keeps the rows' largest |x| bits: after
// the parts, 2 M nb 32 float16 values.
__device__ __forceinline__ cq_i64 cq_f16x2_row_max_at(int M, int nb) { return (cq_i64)2 * M * nb * 32; }
// The larger of max_bits and the bits of v's |values| (NaN's above Inf's
// above any finite value's).
__device__ __forceinline__ cq_u32 cq_f16x2_max_bits(cq_u32 max_bits, float4 v) {
    const cq_u32 a = cq_umax(__float_as_uint(v.x) & 0x7fffffffu, __float_as_uint(v.y) & 0x7fffffffu);
    const cq_u32 b = cq_umax(__float_as_uint(v.z) & 0x7fffffffu, __float_as_uint(v.w) & 0x7fffffffu);
    return cq_umax(max_bits, cq_umax(a, b));
}
// The largest of every thread's max_bits into *row_max (shared memory; a
// barrier must follow): over the warp, then one atomic a warp.
__device__ __forceinline__ void cq_f16x2_max_bits_to(cq_u32* row_max, cq_u32 max_bits) {
#pragma unroll
    for (int o = CQ_WARP_SIZE / 2; o > 0; o >>= 1) max_bits = cq_umax(max_bits, (cq_u32)CQ_SHFL_XOR((int)max_bits, o));
    if (threadIdx.x % CQ_WARP_SIZE == 0) atomicMax(row_max, max_bits);
}
// One B-fragment record of thread t for one block and column (cq_mv_tc's k
// order): block values j0, j2 | j0+1, j2+1 | 16+j0, 16+j2 | 16+j0+1, 16+j2+1,
// as float16 pairs, where thread t holds the block's qs bytes
// j0, j0+1, j2, j2+1: 4t .. 4t+3 (j0 = 4t, j2 = 4t+2), or in the aligned
// order of an even block (cq_mv_tc's AE) 4t+2 .. 4t+5 mod 16 (j0 = 4t+2,
// j2 = (4t+4) mod 16).
// float16 x: one record, from the words of values (j0, j0+1), (j2, j2+1),
// and the same plus 16.
__device__ __forceinline__ uint4 cq_mv_record_f16_words(cq_u32 a, cq_u32 b, cq_u32 c, cq_u32 d) {
    return make_uint4(__byte_perm(a, b, 0x5410), __byte_perm(a, b, 0x7632),
                      __byte_perm(c, d, 0x5410), __byte_perm(c, d, 0x7632));
}
__device__ __forceinline__ uint4 cq_mv_record_f16_words(uint4 w) { return cq_mv_record_f16_words(w.x, w.y, w.z, w.w); }
// The four words of thread t's record in the aligned order of an even block
// (cq_mv_tc's AE; odd blocks in the plain order): blk is the block's value 0.
__device__ __forceinline__ uint4 cq_mv_x_words_ae(const cq_u16* blk, bool even, int t) {
    const int j0 = even ? 4 * t + 2 : 4 * t, j2 = even ? (4 * t + 4) & 15 : 4 * t + 2;
    auto word = [&](int j) { return *reinterpret_cast<const cq_u32*>(blk + j); };
    return make_uint4(word(j0), word(j2), word(16 + j0), word(16 + j2));
}
// src: the block's value 4t.
__device__ __forceinline__ uint4 cq_mv_record_f16(const cq_u16* src) {
    const uint2 lo = *reinterpret_cast<const uint2*>(src);
    const uint2 hi = *reinterpret_cast<const uint2*>(src + 16);
    return cq_mv_record_f16_words(lo.x, lo.y, hi.x, hi.y);
}
// float32 x: the records of its two float16 parts after scaling by scale,
// hi's record then lo's: each scaled value v (exact: scale is a power of two)
// becomes hi = float16(v) and lo = float16(v - hi) (v - hi exact in float32).
__device__ __forceinline__ void cq_mv_records_f16x2(const float* src, float scale, uint4* rec) {
    const float4 lo = *reinterpret_cast<const float4*>(src);
    const float4 hi = *reinterpret_cast<const float4*>(src + 16);
    const float in[8] = {lo.x, lo.z, lo.y, lo.w, hi.x, hi.z, hi.y, hi.w};
    cq_u32 hw[4], lw[4];
#pragma unroll
    for (int e = 0; e < 4; ++e) {
        // A pair of values at a time, each word in the record's order
        // (cvt.rn.f16x2.f32 on NVIDIA: one conversion for both his, one for
        // both los, no byte permutes).
        const float a = in[2 * e] * scale, b = in[2 * e + 1] * scale;
        hw[e] = cq_float2_to_half2(a, b);
        lw[e] = cq_float2_to_half2(a - cq_half_to_float((cq_u16)(hw[e] & 0xffffu)),
                                   b - cq_half_to_float((cq_u16)(hw[e] >> 16)));
    }
    rec[0] = make_uint4(hw[0], hw[1], hw[2], hw[3]);
    rec[1] = make_uint4(lw[0], lw[1], lw[2], lw[3]);
}

// The x_shared fill of the queue kernels' "c" builds ("_xsqc", CP in
// cq_mv_fill_x; the host takes them from qmatmul.mv_plan.MV_XS_COPY_FILL_FROM_M float16
// rows) copies x raw into the records' place with cp.async, every copy of a
// thread issued at once, and then makes the records in shared memory. At M = 8
// (16 records a thread at K = 4096) the loop of global loads took 6.3 of
// 14336 x 4096's 21.3 us (notes/h200_s33 run 5); the copies bring that shape
// to 19.1 us (21.1, runs 6-7). With fewer rows the copies lost: they wait for
// the first weight stage too (M = 2 / 4 on 14336 x 4096 16.5 / 16.9 against
// 14.4 / 15.4 us; float32 x at M = 1 16.2 against 14.9; run 6). A kernel of
// its own, since compiled into "_xsq" beside the loads this branch cost M = 2
// / 4 4-6% on 14336 x 4096 (run 7; as a build of its own "_xsq" took 14.5-14.8
// / 15.4-15.5 us against 15.1 / 16.25-16.55, notes/h200_s34 run 1). cp.async:
// NVIDIA's (CQ_SM80), as the x_shared kernels are: cq_mv_tc calls this only there.

// The B-fragment records of cq_mv_tc's XS variant for float16 x: for blocks
// b0 .. b0 + nbr of the M activation rows, records[b][m][t], each 16 bytes,
// in the k order of cq_mv_record_f16 (AE: even blocks in the aligned order;
// CP: through cp.async, above). x: leading dimension ldx elements, 16-byte
// aligned rows. Every thread of the block takes part.
template <bool AE, bool CP>
__device__ __forceinline__ void cq_mv_fill_x(uint4* records, const cq_u16* x, cq_i64 ldx, int M, cq_i64 b0, int nbr) {
    if (AE) {
        // Four words a record, j0 and j2 chosen by the block's parity with no
        // branch, so that the loads of four records are issued together (as
        // the last loop below does with two a record).
#pragma unroll 4
        for (int r = threadIdx.x; r < nbr * M * 4; r += CQ_MM_THREADS) {
            const int t = r & 3, bm = r >> 2, m = bm % M, b = bm / M;
            records[((cq_i64)b * M + m) * 4 + t] =
                cq_mv_record_f16_words(cq_mv_x_words_ae(x + (cq_i64)m * ldx + (b0 + b) * 32, ((b0 + b) & 1) == 0, t));
        }
    } else if (CP) {
#if defined(CQ_SM80)
        // Record r = (b M + m) 4 + t. Each (block, row)'s 64 bytes of x go raw
        // into its four records' place, thread r copying the 16 bytes of
        // values 8p .. 8p + 7 (p = r % 4); once they have landed, the same
        // four lanes of one warp read them (values 4t .. 4t+3, 16+4t ..) and
        // write the records over them, a __syncwarp between. Waits for every
        // copy group in flight (the first weight stages too); a barrier must
        // follow.
        const int lane = threadIdx.x % CQ_WARP_SIZE, n = nbr * M * 4;
        const cq_u32 base = cq_smem_addr(records);
        for (int r0 = threadIdx.x - lane; r0 < n; r0 += CQ_MM_THREADS) {  // warp-uniform trip count
            const int r = r0 + lane, bm = r >> 2;
            if (r < n) cq_cp16_s(base + (cq_u32)r * 16, x + (cq_i64)(bm % M) * ldx + (b0 + bm / M) * 32 + 8 * (r & 3));
        }
        cq_cp_commit();
        cq_cp_wait<0>();
        CQ_SYNC_WARP();
        for (int r0 = threadIdx.x - lane; r0 < n; r0 += CQ_MM_THREADS) {
            const int r = r0 + lane;
            uint4 rec;
            if (r < n) rec = cq_mv_record_f16(reinterpret_cast<const cq_u16*>(records + (r & ~3)) + 4 * (r & 3));
            CQ_SYNC_WARP();
            if (r < n) records[r] = rec;
        }
#endif
    } else {
        for (int r = threadIdx.x; r < nbr * M * 4; r += CQ_MM_THREADS) {
            const int t = r & 3, bm = r >> 2, m = bm % M, b = bm / M;
            records[((cq_i64)b * M + m) * 4 + t] = cq_mv_record_f16(x + (cq_i64)m * ldx + (b0 + b) * 32 + 4 * t);
        }
    }
}

// ... and for float32 x: records[b][m * 2 + p][t] (p: hi, lo), the rows
// scaled by their largest |x| over these blocks (into row_max, zeroed by the
// caller before a barrier). x (16-byte aligned rows) is read once: each
// (block, row)'s 128 bytes of records first take its 32 values as they are
// while the rows' largest |x| are found; after a barrier each thread turns
// its 8 values (4t.., 16 + 4t..) into its two records, which go into the
// same 32 bytes (records (hi, t) and (lo, t)). A barrier must follow.
__device__ __forceinline__ void cq_mv_fill_x_f32(uint4* records, const float* x, cq_i64 ldx, int M, cq_i64 b0,
                                                 int nbr, cq_u32* row_max) {
    for (int m = 0; m < M; ++m) {
        const float* row = x + (cq_i64)m * ldx + b0 * 32;
        cq_u32 mx = 0;
#pragma unroll 4
        for (int i = threadIdx.x; i < nbr * 8; i += CQ_MM_THREADS) {  // 16-byte piece i of the row's blocks
            const float4 v = *reinterpret_cast<const float4*>(row + 4 * i);
            mx = cq_f16x2_max_bits(mx, v);
            *reinterpret_cast<float4*>(records + ((cq_i64)(i / 8) * M + m) * 8 + i % 8) = v;
        }
        cq_f16x2_max_bits_to(row_max + m, mx);
    }
    __syncthreads();
    for (int r = threadIdx.x; r < nbr * M * 4; r += CQ_MM_THREADS) {
        const int t = r & 3, bm = r >> 2;
        uint4 rec[2];
        cq_mv_records_f16x2(reinterpret_cast<const float*>(records + (cq_i64)bm * 8) + 4 * t,
                            cq_f16x2_scale(row_max[bm % M]), rec);
        records[(cq_i64)bm * 8 + t] = rec[0];
        records[(cq_i64)bm * 8 + 4 + t] = rec[1];
    }
}

// Before the grid dependency wait (programmatic dependent launch, CQ_MV_EARLY):
// ask the L2 cache for this thread block's first CQ_MV_PF_STAGES weight stages
// (its first tile, its K split). Nothing may be read into registers or shared
// memory before the wait (the previous grid may write the weights); a prefetch
// is only a hint, and L2 is coherent with that grid's writes.
template <int RT, int KB>
__device__ __forceinline__ void cq_mv_prefetch_first(const cq_u8* w, cq_i64 row_bytes, int N, int nb,
                                                     int stages_per_split) {
#if CQ_MV_PF_STAGES > 0
    constexpr int TPR = CQ_MM_THREADS / RT;  // threads a row
    const int n = blockIdx.x * RT + threadIdx.x / TPR;
    const int b0 = blockIdx.y * stages_per_split * KB;
    const int b1 = cq_imin(nb, b0 + cq_imin(stages_per_split, CQ_MV_PF_STAGES) * KB);
    if (n < N && b1 > b0)
        cq_prefetch_l2(w + (cq_i64)n * row_bytes + (cq_i64)b0 * CQ_QB, (cq_i64)(b1 - b0) * CQ_QB,
                       threadIdx.x % TPR, TPR);
#else
    (void)w; (void)row_bytes; (void)N; (void)nb; (void)stages_per_split;
#endif
}

// The XQ kernels copy the next tile's first stage during this tile's last
// (XT in cq_mv_tc); 0 turns that off (A/B probes).
#ifndef CQ_MV_XTILE
#define CQ_MV_XTILE 1
#endif

// The one-row x_shared kernels (M1 in cq_mv_tc) fill their x records a stage
// at a time, so that the first barrier waits for one stage's records, not the
// whole split's (session 31: that fill cost 4096 x 14336 1.65 us, every thread
// block reading the same 28 KiB at once).
// - "_xs1" (no queue; XSF): stage 0's before the loop, stage i + 1's loaded
//   into registers during stage i's math (one record a thread). 1: as
//   submitted; 2: "_xsq1" too (24 bytes of spill at 48 registers, 128256 x
//   4096 up to 7% slower, notes/h200_s33 runs 1, 3); 0: neither, the whole
//   split's records first (A/B probes).
// - "_xsq1c" (a queue; XC): each stage's x is copied raw with cp.async beside
//   its weights, and the warp that reads a block makes its records in place
//   after the stage's barrier. 14336 x 4096 13.0-13.1 against 13.6-14.3 us,
//   but it spills the same 24 bytes, which every later tile pays: 128256 x
//   4096 83.6-87.6 against 81.5-82.4 (run 3). The host takes it only in the
//   band of tiles per thread block where it won (qmatmul.mv_plan.MV_ONE_ROW_COPY_FILL_BAND).
#ifndef CQ_MV_XS_STAGED_FILL
#define CQ_MV_XS_STAGED_FILL 1
#endif

// The early path exists where the kernel reads x itself (float16 x, or the
// x_shared kernels' float32 x).
#define CQ_MV_EARLY_COMPILED(XF32, XS) (!(XF32) || (XS))

template <bool XF32, int NT, class OT, int RT, int KB, int ST, bool XS, bool XQ = false,
          int CW = CQ_MM_THREADS / 32, bool M1 = false, bool AE = M1, bool XR = false, bool XC = false>
__device__ __forceinline__ void cq_mv_tc(const cq_u8* __restrict__ w, cq_i64 row_bytes, int N, int nb,
                                         const cq_u16* __restrict__ x, cq_i64 ldx, int m_rows,
                                         OT* __restrict__ y, cq_i64 ldy, int mode, int stages_per_split,
                                         float* __restrict__ ws, int* __restrict__ counters) {
    // The grid dependency wait: here, or (CQ_MV_READ_ONLY_W, a thread block
    // with a tile) once its first tile's first weight stages are issued.
    const bool wait_after_first_copies = (mode & CQ_MV_READ_ONLY_W) != 0 && (int)blockIdx.x * RT < N;
    if (!wait_after_first_copies) CQ_MV_GRID_DEPENDENCY();
#if defined(CQ_SM80)
    // (Never set where x is the float32 records' kernel's output: the host
    // leaves those launches as in session 14, and the kernels compile as they
    // did then; with the early path compiled in, float32 x at M = 8 ran 16-29%
    // slower, notes/h200_s16 run 5.)
    const bool early = CQ_MV_EARLY_COMPILED(XF32, XS) && (mode & CQ_MV_EARLY) != 0;
    // (XQ kernels run only with a queue: never in a cluster)
    const bool cluster = !XQ && (mode & CQ_MV_CLUSTER) != 0;
    mode &= 3;
#if defined(CQ_CLUSTERS)
    // No thread block may write into another's shared memory before that one
    // has started: this arrival is waited for before the first such write.
    if (cluster) cq_cluster_arrive_relaxed();
#endif
    constexpr int P = XF32 ? 2 : 1;  // B columns per activation row (float32 x: hi, lo)
    // M1 kernels (float16 x, one activation row): B column 0 is the only one
    // used, so the accumulators of the odd columns (c[1], c[3]) are not kept
    // (two float32 fma a block fewer), and M is a constant in every index.
    // With AE (below) a stage of "_xsq1" is 264 instructions a warp against
    // 293 for "_xsq" (nvcc 13, sm_90).
    static_assert(!M1 || (!XF32 && NT == 1), "M1: float16 x, one column tile");
    const int M = M1 ? 1 : m_rows;
    constexpr int NC = 8 * NT;         // B columns
    constexpr int TILES = RT / 16;     // 16-row tiles
    constexpr int KW = 8 / TILES;      // warps sharing a tile (K interleave)
    constexpr int SR = CQ_MV_SR(KB);
    constexpr int STAGE = RT * SR;
    constexpr int NVEC = KB * CQ_QB / 16;  // 16-byte pieces per row and stage
    static_assert(RT == 16 || RT == 32 || RT == 64, "RT");
    static_assert(!XS || NT == 1, "XS: one column tile");
    // XR (float16 x, one column tile, no x_shared records): each stage's
    // activations, M rows x KB blocks, are copied with its weights into a
    // ring of their own after the weights' ring (row stride XRS: the 8 rows'
    // 32-byte pieces a fragment load reads start in different banks), so
    // that the loop reads them from shared memory instead of waiting on
    // L1 / L2 (ncu, 4096 x 14336 at M = 8: 9.7 of 23.6 stall cycles an
    // instruction on those loads, L1 hit rate 26%).
    static_assert(!XR || (!XS && !XF32 && NT == 1), "XR: float16 x, one column tile");
    constexpr int XRS = KB * 64 + 32;
    static_assert(KB % 8 == 0 && KB % (2 * KW) == 0, "KB");
    cq_u8* smem = reinterpret_cast<cq_u8*>(cq_dyn_smem);
    __shared__ int is_last, next_tile;
    // float32 x: the bits of each activation row's largest |x| (XS: over this
    // split's blocks, from the fill; else the whole row's, after the parts
    // cq_q4_0_xprep_f16x2 wrote): its parts' scale (cq_f16x2_scale).
    __shared__ cq_u32 x_row_max[8];
    const cq_u32* const row_max =
        XF32 && !XS ? reinterpret_cast<const cq_u32*>(x + cq_f16x2_row_max_at(M, nb)) : x_row_max;

    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int g = lane >> 2, t = lane & 3;
    // AE (the one-row kernels; their x records, filled by cq_mv_fill_x, can
    // be in any k order): an even block's qs start at 2 mod 4, and thread t
    // takes its bytes 4t+2 .. 4t+5 mod 16, word t + 1 of the block, thread 3
    // the lower half of word 4 and the upper half of word 0 (qs 14, 15, 0,
    // 1). Word 0 also holds the block's d. (For the other x_shared kernels
    // the same order gave as many instructions a stage, at 48 registers.)
    const cq_u32 ae_sel = t < 3 ? 0x3210u : 0x7610u;
    static_assert(!AE || XS, "AE: x_shared records");
    // XC: x copied with cp.async (the "c" builds): M1, staged with the
    // weights (XSC); else the whole split at once (cq_mv_fill_x's CP).
    static_assert(!XC || (XS && !XF32 && XQ), "XC: the float16 queue kernels");
    constexpr bool XSC = XC && M1;
    constexpr bool XSF = XS && M1 && !XC && (CQ_MV_XS_STAGED_FILL == 2 || (CQ_MV_XS_STAGED_FILL == 1 && !XQ));
    static_assert(!(XSF || XSC) || KB * 4 == CQ_MM_THREADS, "XSF / XSC: one record a thread and stage");
    static_assert(!XSC || (KB == 64 && KW == 8 && ST == 2), "XSC: a lane a record of its warp's blocks");
    uint4* const xs = reinterpret_cast<uint4*>(smem + CQ_MV_XS_OFFSET(RT, KB, ST));
    const int rt = warp % TILES, kw = warp / TILES;
    const int split = blockIdx.y, n_split = gridDim.y;
    const int n_tiles = (N + RT - 1) / RT;
    const int n_stages_all = (nb + KB - 1) / KB;
    const int st0 = split * stages_per_split;
    const int nst = cq_imin(n_stages_all, st0 + stages_per_split) - st0;
    // XS thread blocks are persistent when there are fewer than tiles: after
    // tile blockIdx.x each takes the next tile of its split from a queue
    // (counters[n_tiles + split], the thread blocks done in
    // counters[n_tiles + n_split + split]; the last one resets both), so that
    // its activations are copied into shared memory once for many tiles and
    // the tiles spread over the thread blocks as they finish. Otherwise one
    // tile a thread block.
    int* const queue = XS ? counters + n_tiles + split : nullptr;
    const uint4* xs_lane = nullptr;
    const bool use_queue = XS && (int)gridDim.x < n_tiles;  // else a thread block for every tile
    // XQ kernels (x_shared with a two-stage ring, for grids with a queue):
    // the stages of a thread block's tiles follow each other in the ring,
    // the next tile's first stage copied while this tile's last one is used,
    // so that a tile does not start with a whole round trip to memory. The
    // tile's K sums are then reduced in the slot of its last stage, the one
    // slot no copy is writing into. At run time (xt) only with a queue and
    // where every tile's first stage is a full one of 16-byte rows (the one
    // copy the next-tile issue has); else each tile issues its own.
    constexpr bool XT = XS && XQ && ST == 2 && CQ_MV_XTILE;
    const bool xt = XT && use_queue && mode == 2 && nb - st0 * KB >= KB;
    int slot0 = 0;          // xt: ring slot of this tile's stage 0
    int next = n_tiles;     // thread 0: the next tile from the queue
    int xt_next = n_tiles;  // every thread (xt): the next tile, read in the last stage
    auto slot_of = [&](const int i) { return xt ? (slot0 + i) % ST : i % ST; };
    auto process_tile = [&](const int tile, const bool first) {
        const int n0 = tile * RT;
        const int rows = cq_imin(RT, N - n0);
        const cq_u8* wt = w + (cq_i64)n0 * row_bytes;

        // Full stages with 16-byte rows (mode 2): TPR threads a row, thread tid
        // copies row tid / TPR, pieces tid % TPR + TPR * k. Every copy of a stage
        // is then a fixed offset from two addresses kept in registers (a shared
        // address and a global pointer that advances by one stage), not a
        // division and a pointer conversion a piece recomputed every stage.
        // Only the first CT = 32 * CW threads copy full stages (CW "copy
        // warps"; the others skip the copies' address arithmetic: their cp_row
        // is >= RT, so cp_ok is false).
        constexpr int CT = 32 * CW;
        constexpr int TPR = CT / RT;                  // threads a row
        constexpr int CPT = (NVEC + TPR - 1) / TPR;   // pieces a thread
        constexpr int LAST = NVEC - TPR * (CPT - 1);  // threads with a piece in the last round
        static_assert(CT % RT == 0 && CT <= CQ_MM_THREADS && CPT >= 1, "staging geometry");
        const int cp_row = tid / TPR, cp_col = tid % TPR;
        const bool cp_ok = cp_row < rows;
        const cq_u32 cp_sbase = cq_smem_addr(smem) + cp_row * SR + cp_col * 16;
        const cq_u8* cp_gbase = wt + (cq_i64)cp_row * row_bytes + (cq_i64)st0 * KB * CQ_QB + cp_col * 16;
        // This thread's pieces of a full stage: shared address sd, global gs.
        auto copy_full_stage = [&](const cq_u32 sd, const cq_u8* gs) {
#pragma unroll
            for (int k = 0; k < CPT; ++k)
                if (k < CPT - 1 || cp_col < LAST) cq_cp16_s(sd + k * TPR * 16, gs + k * TPR * 16);
        };

        // Stage i's copies (cp.async, not committed): its weights, and (XR)
        // its activations.
        auto issue_weights = [&](int i) {
            if (i < nst) {
                const int b0 = (st0 + i) * KB;
                const int nbl = cq_imin(KB, nb - b0);
                if (mode == 2 && nbl == KB) {
                    const cq_u32 sd = cp_sbase + (cq_u32)(slot_of(i) * STAGE);
                    if (cp_ok) copy_full_stage(sd, cp_gbase + (cq_i64)i * (KB * CQ_QB));
                } else {
                    cq_stage_rows(smem + slot_of(i) * STAGE, SR, wt + (cq_i64)b0 * CQ_QB, row_bytes, rows,
                                  nbl * CQ_QB, mode);
                }
            }
        };
        auto issue_x = [&](int i) {
            if (XSC && first && i < nst && (tid >> 2) < nb - (st0 + i) * KB)  // block tid / 4's 16 bytes tid % 4
                cq_cp16_s(cq_smem_addr(xs) + (cq_u32)((i * KB * 4 + tid) * 16),
                          x + ((cq_i64)(st0 + i) * KB * 32 + tid * 8));
            if (XR && i < nst) {
                const int b0 = (st0 + i) * KB;
                const int nbl = cq_imin(KB, nb - b0);
                // x[m][32 b0 ...): 64 bytes a block, 16-byte pieces (rows 16-byte aligned)
                const cq_u32 xd = cq_smem_addr(smem) + CQ_MV_SMEM(RT, KB, ST) + (cq_u32)(slot_of(i) * M * XRS);
                const cq_u16* xg = x + (cq_i64)b0 * 32;
                if (nbl == KB) {
                    constexpr int PPR = KB * 4;  // pieces a row
                    for (int pc = tid; pc < M * PPR; pc += CQ_MM_THREADS) {
                        const int m = pc / PPR, c = pc % PPR;
                        cq_cp16_s(xd + m * XRS + c * 16, xg + (cq_i64)m * ldx + c * 8);
                    }
                } else {
                    const int ppr = nbl * 4;
                    for (int pc = tid; pc < M * ppr; pc += CQ_MM_THREADS) {
                        const int m = pc / ppr, c = pc - m * ppr;
                        cq_cp16_s(xd + m * XRS + c * 16, xg + (cq_i64)m * ldx + c * 8);
                    }
                }
            }
        };
        auto issue = [&](int i) {
            issue_weights(i);
            issue_x(i);
            cq_cp_commit();
        };

        // This thread's B column in each n8 tile: activation row m, part p.
        const cq_u16* xcol[NT];
#pragma unroll
        for (int nt = 0; nt < NT; ++nt) {
            const int n = cq_imin(nt * 8 + g, M * P - 1), m = n / P, p = n - m * P;
            if (XF32)  // parts[block][p * M + m][32], thread t's 8 values at 8t
                xcol[nt] = x + (cq_i64)(p * M + m) * 32 + 8 * t;
            else
                xcol[nt] = x + (cq_i64)m * ldx + 4 * t;
        }
        const cq_i64 xstride = XF32 ? (cq_i64)2 * M * 32 : 32;  // elements from one block to the next

        float acc[NT][4];
#pragma unroll
        for (int nt = 0; nt < NT; ++nt)
#pragma unroll
            for (int i = 0; i < 4; ++i) acc[nt][i] = 0.0f;

        if (wait_after_first_copies && first) {
            // Read-only weights: this thread block's first stages before the
            // wait; after it the activations' (XR: one more commit group, so
            // a ring of two, whose first wait takes every group) and the
            // queue's ticket.
            static_assert(!(XR || XSC) || ST == 2, "XR / XSC: the read-only path's commit groups");
#pragma unroll
            for (int i = 0; i < ST - 1; ++i) {
                issue_weights(i);
                cq_cp_commit();
            }
            CQ_MV_GRID_DEPENDENCY();
            if (use_queue && tid == 0) next = (int)gridDim.x + atomicAdd(queue, 1);
            if (XR || XSC) {
#pragma unroll
                for (int i = 0; i < ST - 1; ++i) issue_x(i);
                cq_cp_commit();
            }
        } else if (!xt || first) {  // xt: the later tiles' stage 0 was issued during the tile before
#pragma unroll
            for (int i = 0; i < ST - 1; ++i) issue(i);
        }
        if (early && nst <= ST - 1) CQ_GRID_LAUNCH_DEPENDENTS();

        // XS: this split's activations, already in the B-fragment order, in
        // shared memory after the stages: one 16-byte record a (block, column, t),
        // so that a block's fragment is one shared load instead of two global
        // loads and four permutes (float16 x), and float32 x needs no separate
        // kernel for its float16 parts (x is then the float32 activations: a
        // first pass finds each row's largest |x| in this split, its scale).
        // Filled while the first stages are in flight; the loop's first barrier
        // publishes it.
        // XSF: thread tid's record of stage i (block tid / 4 of the stage, its
        // thread tid % 4), records[i * KB * 4 + tid] (M = 1).
        auto staged_x_due = [&](const int i) { return XSF && first && i < nst && (tid >> 2) < nb - (st0 + i) * KB; };
        auto staged_x_words = [&](const int i) {
            const cq_i64 b = (cq_i64)(st0 + i) * KB + (tid >> 2);
            return cq_mv_x_words_ae(x + b * 32, (b & 1) == 0, tid & 3);
        };
        if (XS && first) {
            const int nbr = cq_imin(nb, (st0 + nst) * KB) - st0 * KB;
            if (XF32) {
                if (tid < M) x_row_max[tid] = 0;
                __syncthreads();
                cq_mv_fill_x_f32(xs, reinterpret_cast<const float*>(x), ldx, M, (cq_i64)st0 * KB, nbr, x_row_max);
            } else if (XSF) {
                if (staged_x_due(0)) xs[tid] = cq_mv_record_f16_words(staged_x_words(0));
            } else if (!XSC) {  // (XSC: copied with the stages)
                cq_mv_fill_x<AE, XC>(xs, x, ldx, M, (cq_i64)st0 * KB, nbr);
            }
            xs_lane = xs + cq_imin(g, M * P - 1) * 4 + t;
        }

        for (int i = 0; i < nst; ++i) {
            if (xt && i == nst - 1 && tid == 0) next_tile = next;  // published by the barrier below
            cq_cp_wait<ST - 2>();
            __syncthreads();
            if (xt && i == nst - 1) {  // the next tile's stage 0 (if any): a full stage, mode 2
                const int nt = xt_next = next_tile;
                if (nt < n_tiles && (CT == CQ_MM_THREADS || cp_row < RT) && cp_row < N - nt * RT) {
                    copy_full_stage(cp_sbase + (cq_u32)(slot_of(nst) * STAGE),
                                    cp_gbase + (cq_i64)(nt - tile) * RT * row_bytes);
                }
                cq_cp_commit();
            } else {
                issue(i + ST - 1);
            }
            // every weight copy of this tile issued: the next grid may be scheduled
            if (early && i == nst - ST) CQ_GRID_LAUNCH_DEPENDENTS();
            // XSF: stage i + 1's x, stored into its records after this stage's
            // math (the next barrier publishes them)
            const bool x_next_due = staged_x_due(i + 1);
            uint4 x_next;
            if (x_next_due) x_next = staged_x_words(i + 1);
            const cq_u8* sb = smem + slot_of(i) * STAGE + (rt * 16 + g) * SR;
            // XR: this thread's B column (row min(g, M - 1)) of this stage's x, at its value 4t
            const cq_u16* xrb = reinterpret_cast<const cq_u16*>(
                smem + CQ_MV_SMEM(RT, KB, ST) + slot_of(i) * M * XRS + cq_imin(g, M - 1) * XRS + 8 * t);
            const int b0 = (st0 + i) * KB;
            const int nbl = cq_imin(KB, nb - b0);
            if (XSC && first) {
                // This stage's raw x (landed with its weights) into records in
                // place, by the warp that reads them: warp kw's blocks are the
                // pairs kw + KW h of a full stage, kw + KW j of a partial one.
                const int bl = nbl == KB ? 2 * (kw + KW * (lane >> 3)) + ((lane >> 2) & 1) : kw + KW * (lane >> 2);
                const bool mine = bl < nbl;
                uint4 words;
                if (mine)
                    words = cq_mv_x_words_ae(reinterpret_cast<const cq_u16*>(xs + (i * KB + bl) * 4),
                                             ((b0 + bl) & 1) == 0, t);
                CQ_SYNC_WARP();  // the block's four lanes have read its 64 bytes
                if (mine) xs[(i * KB + bl) * 4 + t] = cq_mv_record_f16_words(words);
                CQ_SYNC_WARP();
            }
            auto do_block = [&](int bl, bool odd) {
                const cq_u8* r0 = sb + bl * CQ_QB;  // row g of the tile
                const cq_u8* r1 = r0 + 8 * SR;      // row g + 8
                cq_u32 q0, q1;
                float d0, d1;
                if (odd || !AE) {
                    if (odd) {  // qs at an address = 0 mod 4 (row stride and stage are multiples of 4)
                        q0 = *reinterpret_cast<const cq_u32*>(r0 + 2 + 4 * t);
                        q1 = *reinterpret_cast<const cq_u32*>(r1 + 2 + 4 * t);
                    } else {    // qs at 2 mod 4: two aligned words, funnel-shifted
                        q0 = __funnelshift_r(*reinterpret_cast<const cq_u32*>(r0 + 4 * t),
                                             *reinterpret_cast<const cq_u32*>(r0 + 4 * t + 4), 16);
                        q1 = __funnelshift_r(*reinterpret_cast<const cq_u32*>(r1 + 4 * t),
                                             *reinterpret_cast<const cq_u32*>(r1 + 4 * t + 4), 16);
                    }
                    d0 = cq_half_to_float(*reinterpret_cast<const cq_u16*>(r0));
                    d1 = cq_half_to_float(*reinterpret_cast<const cq_u16*>(r1));
                } else {  // AE, even block: the aligned order (word t + 1; thread 3 takes qs 0-1 from word 0,
                          // which also holds d): one shared load a row fewer, a permute for the funnel shift
                    const cq_u32 h0 = *reinterpret_cast<const cq_u32*>(r0);
                    const cq_u32 h1 = *reinterpret_cast<const cq_u32*>(r1);
                    q0 = __byte_perm(*reinterpret_cast<const cq_u32*>(r0 + 4 + 4 * t), h0, ae_sel);
                    q1 = __byte_perm(*reinterpret_cast<const cq_u32*>(r1 + 4 + 4 * t), h1, ae_sel);
                    d0 = cq_half_to_float((cq_u16)(h0 & 0xffffu));
                    d1 = cq_half_to_float((cq_u16)(h1 & 0xffffu));
                }
                cq_u32 v0[4], v1[4];
                cq_mv_decode(q0, v0);
                cq_mv_decode(q1, v1);
                // mma A registers: {row g, row g + 8} x {first, second k half} of each mma
                const cq_u32 a[8] = {v0[0], v1[0], v0[1], v1[1], v0[2], v1[2], v0[3], v1[3]};
                const cq_i64 b = b0 + bl;
#pragma unroll
                for (int nt = 0; nt < NT; ++nt) {
                    // Columns past the last activation row read a valid row again
                    // (xcol clamped below); their results are never used.
                    uint4 v;
                    if (XS)  // this split's block i * KB + bl
                        v = xs_lane[(i * KB + bl) * M * (P * 4)];
                    else if (XR)
                        v = cq_mv_record_f16(xrb + bl * 32);
                    else if (XF32)  // records prepared by cq_q4_0_xprep_f16x2
                        v = *reinterpret_cast<const uint4*>(xcol[nt] + b * xstride);
                    else
                        v = cq_mv_record_f16(xcol[nt] + b * xstride);
                    const cq_u32 bf[4] = {v.x, v.y, v.z, v.w};
                    float c[4];
                    cq_mv_mma_block(c, a, bf);
                    acc[nt][0] = fmaf(d0, c[0], acc[nt][0]);
                    if (!M1) acc[nt][1] = fmaf(d0, c[1], acc[nt][1]);
                    acc[nt][2] = fmaf(d1, c[2], acc[nt][2]);
                    if (!M1) acc[nt][3] = fmaf(d1, c[3], acc[nt][3]);
                }
            };
            if (nbl == KB) {  // full stage: warp kw takes the block pairs kw, kw + KW, ... (parity known)
#pragma unroll
                for (int h = 0; h < KB / (2 * KW); ++h) {
                    const int pr = kw + KW * h;
                    do_block(2 * pr, false);
                    do_block(2 * pr + 1, true);
                }
            } else {
                for (int bl = kw; bl < nbl; bl += KW) do_block(bl, bl & 1);
            }
            if (x_next_due) xs[(i + 1) * KB * 4 + tid] = cq_mv_record_f16_words(x_next);
        }
        if (!xt) cq_cp_wait<0>();  // xt: only the next tile's stage 0 can be in flight
        __syncthreads();

        // Sum the K interleaves and the parts: red[kw][row][col] (xt: in the
        // slot of the last stage, the other one may be filling).
        float* red = reinterpret_cast<float*>(smem + (xt ? slot_of(nst - 1) * STAGE : 0));
        static_assert(KW * RT * NC * 4 <= STAGE && KW * RT * NC * 4 <= CQ_MV_XS_OFFSET(RT, KB, ST),
                      "reduction buffer");
#pragma unroll
        for (int nt = 0; nt < NT; ++nt) {
            const int row = rt * 16 + g, col = nt * 8 + 2 * t;
            red[(kw * RT + row) * NC + col] = acc[nt][0];
            red[(kw * RT + row) * NC + col + 1] = acc[nt][1];
            red[(kw * RT + row + 8) * NC + col] = acc[nt][2];
            red[(kw * RT + row + 8) * NC + col + 1] = acc[nt][3];
        }
        __syncthreads();
        const int nout = RT * M;
        // Clusters: the splits' partial sums go to split 0's shared memory,
        // part[split][m][row], after everything else there (the ring, and the
        // records with the records of a whole split).
        const int part_offset = XS ? CQ_MV_XS_OFFSET(RT, KB, ST) + stages_per_split * KB * M * P * 64
                                   : CQ_MV_SMEM(RT, KB, ST) + (XR ? ST * M * XRS : 0);
        // y = the sum of the splits' partial sums, added in split order (the
        // same bits from the cluster's shared memory, part[split][m][row],
        // as from the workspace). A bool, not a generic lambda reading them:
        // NVRTC 13.0 with -G takes a generic lambda's call operator for a
        // host function and refuses it.
        const float* const parts = reinterpret_cast<const float*>(smem + part_offset);
        auto store_split_sums = [&](const bool in_cluster) {
            for (int i = tid; i < nout; i += CQ_MM_THREADS) {
                const int r = i % RT, m = i / RT;
                if (r < rows) {
                    float v = 0.0f;
                    for (int s = 0; s < n_split; ++s)
                        v += in_cluster ? parts[s * nout + i] : cq_ld_cg(ws + ((cq_i64)s * M + m) * N + n0 + r);
                    cq_store1(y + (cq_i64)m * ldy + n0 + r, v);
                }
            }
        };
#if defined(CQ_CLUSTERS)
        if (cluster) cq_cluster_wait();  // every thread block of the cluster has started
#endif
        for (int i = tid; i < nout; i += CQ_MM_THREADS) {
            const int r = i % RT, m = i / RT;
            if (r < rows) {
                float v = 0.0f;
#pragma unroll
                for (int h = 0; h < KW; ++h)
#pragma unroll
                    for (int p = 0; p < P; ++p) v += red[(h * RT + r) * NC + m * P + p];
                if (XF32) v *= cq_f16x2_scale(row_max[m], true);  // * 2^-s: back to x's scale
                if (n_split == 1)
                    cq_store1(y + (cq_i64)m * ldy + n0 + r, v);
#if defined(CQ_CLUSTERS)
                else if (cluster)
                    cq_st_cluster_f32(cq_smem_addr(smem) + part_offset + 4 * (split * nout + i), 0, v);
#endif
                else
                    ws[((cq_i64)split * M + m) * N + n0 + r] = v;
            }
        }
#if defined(CQ_CLUSTERS)
        if (n_split > 1 && cluster) {
            // The tile's splits are the cluster's thread blocks, rank = split.
            // The others leave at once (their slots free for the grid's next
            // thread blocks); split 0 waits for their sums and adds them up in
            // split order (as the workspace sum below: the same bits).
            cq_cluster_arrive_release();
            if (split == 0) {
                cq_cluster_wait();
                store_split_sums(true);
            }
        }
#endif
        if (n_split > 1 && !cluster) {
            // Split-K: the last block of the tile to arrive adds the partial sums
            // up in split order (deterministic) and writes y. Thread 0's
            // counter increment releases the block's workspace writes (ordered
            // before it by the barrier; a release is cumulative) and acquires
            // the other splits'; the barrier after it passes that on to the
            // block. (One fence of one thread: __threadfence in every thread,
            // before and after, is a sequentially consistent fence a warp.)
            __syncthreads();
            if (tid == 0) is_last = cq_atom_add_acq_rel_gpu(counters + tile, 1) == n_split - 1;
            __syncthreads();
            if (is_last) {
                store_split_sums(false);
                if (tid == 0) counters[tile] = 0;  // ready for the next launch on this stream
            }
        }
    };
    if (!XS) {
        process_tile(blockIdx.x, true);
    } else {  // one inlined copy of process_tile for both cases (instruction cache)
        for (int tile = blockIdx.x, first = 1; tile < n_tiles; first = 0) {
            next = n_tiles;
            if (use_queue && tid == 0 && !(first && wait_after_first_copies))  // used after this tile
                next = (int)gridDim.x + atomicAdd(queue, 1);
            process_tile(tile, first);
            slot0 = (slot0 + nst) % ST;
            if (!use_queue) break;
            if (xt) {  // every thread read it after the last stage's barrier; the next
                tile = xt_next;  // copy into this tile's reduction slot waits for the next tile's first barrier
                continue;
            }
            // Also keeps the next tile's copies into the stages after every
            // read of the reduction buffer in process_tile.
            if (tid == 0) next_tile = next;
            __syncthreads();
            tile = next_tile;
        }
    }
    if (use_queue && tid == 0 && atomicAdd(counters + n_tiles + n_split + split, 1) == (int)gridDim.x - 1) {
        *queue = 0;  // every thread block of this split has taken its last tile
        counters[n_tiles + n_split + split] = 0;
    }
#endif
}

// float32 activations (M rows, leading dimension ldx) -> their two scaled
// float16 parts (cq_mv_records_f16x2, the scale from the whole row), in cq_mv_tc's
// k order: parts[block][p * M + m][32], thread t's 8 values at 8t are block
// values 4t, 4t+2, 4t+1, 4t+3, then the same plus 16; after those 2 M nb 32
// values, the rows' largest |x| bits (row_max[M], which cq_mv_tc reads to
// scale its sums back). One thread block a row (grid M).
extern "C" __global__ void __launch_bounds__(CQ_MM_THREADS)
cq_q4_0_xprep_f16x2(const float* __restrict__ x, cq_i64 ldx, int M, int nb, cq_u16* __restrict__ parts) {
    CQ_MV_GRID_DEPENDENCY();
    __shared__ cq_u32 row_max;
    const int m = blockIdx.x;
    const float* row = x + (cq_i64)m * ldx;
    if (threadIdx.x == 0) row_max = 0;
    __syncthreads();
    cq_u32 mx = 0;
    for (cq_i64 i = threadIdx.x; i < (cq_i64)nb * 8; i += CQ_MM_THREADS)
        mx = cq_f16x2_max_bits(mx, *reinterpret_cast<const float4*>(row + 4 * i));
    cq_f16x2_max_bits_to(&row_max, mx);
    __syncthreads();
    const float scale = cq_f16x2_scale(row_max);
    for (cq_i64 q = threadIdx.x; q < (cq_i64)nb * 4; q += CQ_MM_THREADS) {
        const int t = (int)(q & 3);
        const cq_i64 b = q >> 2;
        uint4 rec[2];
        cq_mv_records_f16x2(row + b * 32 + 4 * t, scale, rec);
#pragma unroll
        for (int p = 0; p < 2; ++p)
            *reinterpret_cast<uint4*>(parts + (b * (2 * M) + p * M + m) * 32 + 8 * t) = rec[p];
    }
    if (threadIdx.x == 0) reinterpret_cast<cq_u32*>(parts + cq_f16x2_row_max_at(M, nb))[m] = row_max;
}

// ------------------------------------------------------- kernel macros
// (instantiated by CQ_MATMUL_FOR_OUT in q4_0_matmul.hip)
// One column tile: thread blocks an SM the compiler must allow registers for
// (5: at most 48 registers a thread, spilling a word or two), which the
// smaller geometries' stage rings, with or without x_shared records, leave
// room for in shared memory. More column tiles need more registers (unbounded).
// -DCQ_MV_MIN_BLOCKS=0 lifts the bound.
#ifndef CQ_MV_MIN_BLOCKS
#define CQ_MV_MIN_BLOCKS 5
#endif
// Copy warps (CW) of the x_shared kernels: only the first four warps copy the
// weight stages, the other four skip the copies' address arithmetic. H200,
// us, four against all eight warps (notes/h200_s20 runs 1-2, one module):
// "_xsq" 128256 x 4096 M = 1 83.7-88.6 against 86.7-96.0, 14336 x 4096
// M = 1 13.4-13.5 against 13.7-13.9 (M = 4 / 8 3% / 1% slower); float32 x
// "_xs" 4096 x 14336 17.8-18.1 against 18.3-18.5, 128256 x 4096 97.4-97.9
// against 99.7-100.1; float16 "_xs" 4096 x 14336 14.5 against 14.7. Two,
// three, five or six warps were slower; so were four in the kernels
// without x_shared (M = 8 14336 x 14336 75.6 against 69.5).
#ifndef CQ_MV_XS_COPY_WARPS
#define CQ_MV_XS_COPY_WARPS 4
#endif
#define CQ_MV_TC_KERNEL(XN, XF32, NT, ON, OT, RT, KB, ST) \
    CQ_MV_TC_KERNEL_XQ(XN, XF32, NT, ON, OT, RT, KB, ST, false, false, CQ_MM_THREADS / 32, , \
                       (NT == 1 ? CQ_MV_MIN_BLOCKS : 0), false, false, false)
// float16 x through the stage ring ("_xr": XR in cq_mv_tc), at least MINB
// thread blocks an SM (mk.MV_X_RING_GEOMETRY: two, 74 KiB of weight stages
// and up to 33 KiB of x stages each).
#define CQ_MV_TC_KERNEL_XR(ON, OT, RT, KB, ST, MINB, XSUF) \
    CQ_MV_TC_KERNEL_XQ(f16, false, 1, ON, OT, RT, KB, ST, false, false, CQ_MM_THREADS / 32, XSUF, MINB, false, true, \
                       false)
// The x_shared kernel of one geometry (one column tile): "_xs", and "_xsq"
// for grids with a queue (XQ: the next tile's first stage copied during
// this tile's last); XC: x copied with cp.async (XSUF ends in c).
#define CQ_MV_TC_KERNEL_XS(XN, XF32, ON, OT, RT, KB, ST, XQ, XC, XSUF) \
    CQ_MV_TC_KERNEL_XSB(XN, XF32, ON, OT, RT, KB, ST, XQ, XC, XSUF, CQ_MV_MIN_BLOCKS)
// ... with registers for MINB thread blocks an SM. The float16 queue kernels
// also come with bounds of 2 and 3 ("b2" / "b3" at the end of XSUF): where
// their records leave room for only that many thread blocks an SM (float16
// x, M = 5-8 / 3-4 at K = 4096), CQ_MV_MIN_BLOCKS's 48 registers a thread
// only cost spills ("_xsqc": 12 bytes with the device's NVRTC 13.0) and
// scheduling freedom; qmatmul.mv_plan.MV_XS_QUEUE_REG_BOUND picks them. H200, us,
// two rounds (notes/h200_s35 run 4): 128256 x 4096 M = 8 106.4-106.6 against
// 117.4-117.5, M = 6 105.4-105.8 against 116.1-116.9, M = 4 (b3) 93.8-93.9
// against 98.6-101.1; 14336 x 4096 M = 8 18.5-18.6 against 19.6, M = 6
// 16.1-16.2 against 19.4. Where the records allow 4 or 5 thread blocks an SM
// a bound of 4 was mixed and 2 or 3 lost (the occupancy they cost).
// The float32 queue kernel ("_xsq": its two float16 parts a value make
// the records and B columns of float16 x at twice the rows) comes with the
// same bounds (qmatmul.mv_plan.MV_F32_QUEUE_ROWS). The float32 kernel without a
// queue ("_xs") comes with a bound of 3, for
// records that leave room for 3 (M = 2 at K = 4096: 32 KiB;
// qmatmul.mv_plan.MV_XS_UNQUEUED_REG_BOUND). Not the float16 ones: on grids of 2-3
// thread blocks an SM (4096 x 4096, 6144 x 4096), their bounded builds were
// 18-29% slower but one cell (notes/h200_s36 run 1, M = 1: 5.2 -> 6.2 us).
#define CQ_MV_TC_KERNEL_XSB(XN, XF32, ON, OT, RT, KB, ST, XQ, XC, XSUF, MINB) \
    CQ_MV_TC_KERNEL_XQ(XN, XF32, 1, ON, OT, RT, KB, ST, true, XQ, CQ_MV_XS_COPY_WARPS, XSUF, MINB, false, false, XC)
// ... and its kernel for one float16 activation row (M1 in cq_mv_tc; XSUF
// has a 1).
#define CQ_MV_TC_KERNEL_XS1(ON, OT, RT, KB, ST, XQ, XC, XSUF) \
    CQ_MV_TC_KERNEL_XQ(f16, false, 1, ON, OT, RT, KB, ST, true, XQ, CQ_MV_XS_COPY_WARPS, XSUF, CQ_MV_MIN_BLOCKS, true, \
                       false, XC)
#define CQ_MV_TC_KERNEL_XQ(XN, XF32, NT, ON, OT, RT, KB, ST, XS, XQ, CW, XSUF, MINB, M1, XR, XC)      \
    extern "C" __global__ void __launch_bounds__(CQ_MM_THREADS, MINB)                                    \
        cq_q4_0_mv_tc_##XN##_##ON##_n##NT##_r##RT##_k##KB##_s##ST##XSUF(                                 \
            const cq_u8* __restrict__ w, cq_i64 row_bytes, int N, int nb, const cq_u16* __restrict__ x,  \
            cq_i64 ldx, int M, OT* __restrict__ y, cq_i64 ldy, int mode, int stages_per_split,          \
            float* __restrict__ ws, int* __restrict__ counters) {                                       \
        /* (the copies of CQ_MV_READ_ONLY_W take the place of the prefetch) */                          \
        if (CQ_MV_EARLY_COMPILED(XF32, XS) && (mode & CQ_MV_EARLY) && !(mode & CQ_MV_READ_ONLY_W))   \
            cq_mv_prefetch_first<RT, KB>(w, row_bytes, N, nb, stages_per_split);                          \
        cq_mv_tc<XF32, NT, OT, RT, KB, ST, XS, XQ, CW, M1, M1, XR, XC>(w, row_bytes, N, nb, x, ldx, M, y, ldy, \
                                                                       mode, stages_per_split, ws, counters); \
    }
// Every x type / column-tile count of one geometry.
#define CQ_MV_TC_GEOM(ON, OT, RT, KB, ST)             \
    CQ_MV_TC_KERNEL(f16, false, 1, ON, OT, RT, KB, ST) \
    CQ_MV_TC_KERNEL(f16, false, 2, ON, OT, RT, KB, ST) \
    CQ_MV_TC_KERNEL_XS(f16, false, ON, OT, RT, KB, ST, false, false, _xs) \
    CQ_MV_TC_KERNEL(f32, true, 1, ON, OT, RT, KB, ST)  \
    CQ_MV_TC_KERNEL(f32, true, 2, ON, OT, RT, KB, ST) \
    CQ_MV_TC_KERNEL_XS(f32, true, ON, OT, RT, KB, ST, false, false, _xs)
