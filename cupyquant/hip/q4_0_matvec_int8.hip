// cupyquant: Q4_0 matrix-vector product on NVIDIA int8 tensor cores (sm_80+),
// M = 1..8 activation rows: y[m, n] = sum_k x[m, k] * W[n, k].
//
// Appended after q4_0_matmul.hip (uses q4_0_matvec_tc.hip's CQ_MV_SR, and CQ_QB, CQ_MM_THREADS,
// CQ_SM80, cq_smem_addr, cq_cp16_s, cq_cp16_s_if, cq_cp_commit, cq_cp_wait,
// cq_ld_cg, cq_store1 of q4_0_mm_common.hip).
// On targets without the instruction (AMD, sm < 80) every kernel body here
// compiles to nothing; the host never launches them there.
//
// ------------------------------------------------------------- arithmetic
// Exact integer dot products per Q4_0 block, with the activations as 32-bit
// fixed point per (activation row m, block b):
//
// * Weights: mma.m16n8k32.row.col.s32.u8.s8 "A" = 16 rows x 32 k of u8. Thread
//   (g = lane / 4, t = lane % 4) holds 4 qs bytes q of row g and of row g + 8;
//   its low-nibble register is q & 0x0F0F0F0F (values 0..15, mma k = 4t..4t+3)
//   and its high-nibble register q & 0xF0F0F0F0 (values 16 * q_hi, mma k =
//   16 + 4t..16 + 4t + 3): two instructions a row, no -8 in the weights.
//   Which 4 qs bytes thread t takes depends on the block's parity (see "k
//   order" below); the activations follow the same order.
// * Activations (cq_q4_0_xprep_i8_*): per (m, b) an exponent s with
//   max |x| * 2^s in [2^29, 2^30) (s >= -98 for any finite float; capped at 149
//   so that 2^-s and 2^(23-s) stay representable, which only concerns blocks
//   whose max |x| < 2^-120); X = rint(x * 2^s) for block values k < 16 and
//   X = rint(x * 2^(s-4)) for k >= 16 (their weights are 16 q_hi), the
//   products computed exactly (two power-of-two factors, no flush to zero);
//   four balanced base-256 digits ("limbs") L_j in [-128, 127] with
//   X = sum_j L_j 256^(3-j). Column c = 4 (m % 2) + j of the n8 tile m / 2
//   holds limb j of row m (two activation rows a tile).
// * C = 1.5f's bits in all four accumulator registers (one constant quad): D's
//   bits read as a float are exactly 1.5 + raw * 2^-23, raw = sum_{k<16} q L +
//   sum_{k>=16} 16 q_hi L, |raw| <= 16*15*128 + 16*240*128 < 2^22 (the mantissa
//   never carries into the exponent).
// * The prep gives per column -KK, KK = (1.5 + 8 corr * 2^-23) * 2^(23-s),
//   corr = sum_{k<16} L + 16 sum_{k>=16} L (|8 corr| < 2^19), an exact float32
//   whose exponent bits alone are P = 2^(23-s). One FFMA e = D * P + (-KK) is the
//   exact value (raw - 8 corr) * 2^-s: D * P and KK lie in one binade (the
//   difference is exact) and the result is an integer times 2^-s, s <= 149.
//   That is the exact dot product of limb j with the true weights (q - 8).
// * acc_c = fma(d_row, e_c, acc_c) in float32, every block, in K order.
// * y[m, n] = 2^24 acc_(m,0) + 2^16 acc_(m,1) + 2^8 acc_(m,2) + acc_(m,3) (the
//   limbs of one m lie in threads t and t ^ 1: one shuffle). Split-K partial
//   sums are added in split order by the last warp of a tile (deterministic).
//
// Accuracy: each activation is represented to within 2^-30 (k < 16) or
// 2^-26 (k >= 16) of its block's largest |x| (0.5 unit of 2^-s or 2^(4-s),
// max |x| >= 2^(29-s); with s capped, within 0 / 2^-146 absolute, float32
// activations being multiples of 2^-149): at or below float32's own 2^-24 rounding of that
// value, the integer dot products are exact, and the remaining float32
// operations (d * dot, the running sum over blocks) are those of a float32
// reference that sums block by block. The top limb's sum is the result to
// within 2^-7 relative; the three lower ones only add the bits below it, so
// their rounding errors are 2^-8 and less of the top one's. Non-finite
// activations make their block's KK a NaN (the result row is NaN); NaN or Inf
// in d propagates through the FFMA as in the reference.
//
// ------------------------------------------------------------- k order
// Shared memory holds the raw rows (stage starts 16-byte aligned, blocks of
// 18 bytes, block b of a stage at 18 b). Odd blocks start at 2 mod 4, so their
// qs start at 0 mod 4: thread t takes qs 4t..4t+3 (one aligned word). Even
// blocks start at 0 mod 4 and their qs at 2 mod 4: thread t >= 1 takes the
// aligned word at block offset 4t (qs 4t-2..4t+1); thread 0 takes qs 14, 15
// (block offset 16) and qs 0, 1 (block offset 2) joined by one byte permute.
// So for an even block thread t's mma k 4t+i holds qs (4t - 2 + i) mod 16, for
// an odd block qs 4t + i (and the high nibbles the same + 16). The word at
// even-block offset 0 also holds d, the word at offset 16 the next block's d.
//
// ------------------------------------------------------------- structure
// Each warp owns one 16-row tile and a range of K stages (blockIdx.y = the
// split), streamed through its own ST-stage cp.async ring of 16 rows x KB
// blocks (no __syncthreads: cp.async.wait_group + __syncwarp). Full 16-byte
// aligned stages (mode 2) are copied with cp.async by fixed lane roles (two
// lanes a row, interleaved 16-byte pieces, one pointer a lane advanced by a
// constant); partial stages and modes 1 / 0 are copied synchronously, as
// cq_stage_rows does. Activations: one 16-byte load per (block, n8 tile) and
// lane from the prep's records:
//   rec[b][nt][lane] = {limbs of column g for mma k 4t..4t+3, for 16+4t..,
//                       -KK of column 2t, -KK of column 2t+1}.
// The main loop runs the steady state (every stage full and copied by
// cp.async) without any condition but its own; a second loop does the rest.
// ===================================================================

// Dynamic shared memory of one thread block (8 warps) for a geometry (KB, ST).
#define CQ_I8_SMEM(KB, ST) ((CQ_MM_THREADS / 32) * (ST) * 16 * CQ_MV_SR(KB))

#if defined(CQ_SM80)
// D = A * B + C, m16n8k32, u8 x s8 -> s32; C the constant 1.5f bits.
__device__ __forceinline__ void cq_mma_u8s8(cq_u32* d, const cq_u32* a, cq_u32 b0, cq_u32 b1, cq_u32 c) {
    asm("mma.sync.aligned.m16n8k32.row.col.s32.u8.s8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%10,%10,%10,%10};\n"
        : "=r"(d[0]), "=r"(d[1]), "=r"(d[2]), "=r"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1), "r"(c));
}
// fma without flush to zero (CuPy compiles with -ftz=true; e and the products
// may be subnormal for tiny activations).
__device__ __forceinline__ float cq_fma_rn(float a, float b, float c) {
    float r;
    asm("fma.rn.f32 %0, %1, %2, %3;" : "=f"(r) : "f"(a), "f"(b), "f"(c));
    return r;
}
__device__ __forceinline__ float cq_half_lo(cq_u32 w) {
    float f;
    asm("{ .reg .b16 l, h; mov.b32 {l, h}, %1; cvt.f32.f16 %0, l; }" : "=f"(f) : "r"(w));
    return f;
}
__device__ __forceinline__ float cq_half_hi(cq_u32 w) {
    float f;
    asm("{ .reg .b16 l, h; mov.b32 {l, h}, %1; cvt.f32.f16 %0, h; }" : "=f"(f) : "r"(w));
    return f;
}
__device__ __forceinline__ uint4 cq_ldg_nc16(const uint4* p) {
    uint4 v;
    asm("ld.global.nc.v4.u32 {%0,%1,%2,%3}, [%4];" : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w) : "l"(p));
    return v;
}

// One block of the tile: A from the q words of rows g (qa) and g + 8 (qb),
// scales da, db; records of this block at rp (n8 tile nt at rp + 32 nt).
template <int NT>
__device__ __forceinline__ void cq_i8_block(cq_u32 qa, cq_u32 qb, float da, float db, const uint4* rp,
                                            float (&acc)[NT][4]) {
    const cq_u32 a[4] = {qa & 0x0F0F0F0Fu, qb & 0x0F0F0F0Fu, qa & 0xF0F0F0F0u, qb & 0xF0F0F0F0u};
#pragma unroll
    for (int nt = 0; nt < NT; ++nt) {
        const uint4 r = cq_ldg_nc16(rp + 32 * nt);
        cq_u32 d[4];
        cq_mma_u8s8(d, a, r.x, r.y, 0x3FC00000u);
        // r.z, r.w: -KK of columns 2t, 2t + 1 (negative, same exponent: P)
        const float p = __uint_as_float(r.z & 0x7F800000u);
        const float k0 = __uint_as_float(r.z), k1 = __uint_as_float(r.w);
        acc[nt][0] = cq_fma_rn(da, cq_fma_rn(__uint_as_float(d[0]), p, k0), acc[nt][0]);
        acc[nt][1] = cq_fma_rn(da, cq_fma_rn(__uint_as_float(d[1]), p, k1), acc[nt][1]);
        acc[nt][2] = cq_fma_rn(db, cq_fma_rn(__uint_as_float(d[2]), p, k0), acc[nt][2]);
        acc[nt][3] = cq_fma_rn(db, cq_fma_rn(__uint_as_float(d[3]), p, k1), acc[nt][3]);
    }
}
#endif

// w: N rows of row_bytes; xr: the prep's records; y: M x N (leading dimension
// ldy); tiles = ceil(N / 16); sps: K stages per split (gridDim.y splits);
// ws / counters: split-K workspace (splits x M x N floats) and per-tile
// counters (zero, left zero), unused without a split.
template <int NT, class OT, int KB, int ST>
__device__ __forceinline__ void cq_mv_i8(const cq_u8* __restrict__ w, cq_i64 row_bytes, int N, int nb,
                                         const uint4* __restrict__ xr, int M, OT* __restrict__ y, cq_i64 ldy,
                                         int mode, int tiles, int sps, float* __restrict__ ws,
                                         int* __restrict__ counters) {
#if defined(CQ_SM80)
    constexpr int SR = CQ_MV_SR(KB);            // shared row stride (bytes)
    constexpr int STAGE = 16 * SR;              // one stage of the ring
    constexpr int PR = KB * CQ_QB / 16;         // 16-byte pieces a row and stage
    constexpr int PPL = (PR + 1) / 2;           // pieces a lane (two lanes a row)
    constexpr int RSTEP = KB * NT * 32;         // records from one stage to the next
    static_assert(KB % 8 == 0 && KB >= 8, "KB: a multiple of 8");
    static_assert(ST >= 2, "ST");
    cq_u8* const smem = reinterpret_cast<cq_u8*>(cq_dyn_smem);
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int tile = blockIdx.x * (CQ_MM_THREADS / 32) + warp;
    if (tile >= tiles) return;
    const int split = blockIdx.y, n_split = gridDim.y;
    const int n0 = tile * 16;
    const int rows = cq_imin(16, N - n0);
    const int n_st_all = (nb + KB - 1) / KB;
    const int st0 = split * sps;
    const int nst = cq_imin(n_st_all, st0 + sps) - st0;
    cq_u8* const wsm = smem + warp * (ST * STAGE);

    // Copy role (full stages, mode 2): row cr, pieces ch, ch + 2, ... of each
    // stage. Lanes of rows past N copy row 0 again (never used).
    const int cr = lane >> 1, ch = lane & 1;
    const bool last_piece = ch == 0;  // the odd last piece of a row (PR odd)
    const cq_u8* gsrc = w + (cq_i64)(n0 + (cr < rows ? cr : 0)) * row_bytes + (cq_i64)st0 * (KB * CQ_QB) + 16 * ch;
    const cq_u32 sdst = cq_smem_addr(wsm + cr * SR + 16 * ch);
    // Stages [0, nfast) are full and copied by cp.async; the rest synchronously.
    const int nfull = cq_imin(nst, nb / KB - st0);
    const int nfast = mode == 2 ? nfull : 0;
    // Compute role: rows g and g + 8, qs word 4t.
    const int g = lane >> 2, t = lane & 3;
    const cq_u8* const rdg = wsm + g * SR;
    const cq_u8* const rdq = rdg + 4 * t;
    const cq_u32 sel = t == 0 ? 0x3254u : 0x3210u;  // thread 0 of an even block: qs 14, 15, 0, 1
    const uint4* xp = xr + (cq_i64)st0 * RSTEP + lane;

    auto slow_copy = [&](int j, int slot_off) {  // synchronous, any alignment, partial stages
        const int b0 = (st0 + j) * KB;
        const int nbytes = cq_imin(KB, nb - b0) * CQ_QB;
        cq_u8* dst = wsm + slot_off;
        const cq_u8* src = w + (cq_i64)n0 * row_bytes + (cq_i64)b0 * CQ_QB;
        if (mode >= 1) {
            const int nh = nbytes >> 1;
            for (int i = lane; i < rows * nh; i += 32) {
                const int r = i / nh, c = i - r * nh;
                reinterpret_cast<cq_u16*>(dst + r * SR)[c] = reinterpret_cast<const cq_u16*>(src + r * row_bytes)[c];
            }
        } else {
            for (int i = lane; i < rows * nbytes; i += 32) {
                const int r = i / nbytes, c = i - r * nbytes;
                dst[r * SR + c] = src[r * row_bytes + c];
            }
        }
    };
    // Stage j (relative to st0) into the slot at byte offset slot_off; src is
    // this lane's copy pointer for stage j.
    auto issue_fast = [&](int slot_off, const cq_u8* src) {
        const cq_u32 dst = sdst + slot_off;
#pragma unroll
        for (int k = 0; k < PPL; ++k) {
            if (2 * k + 1 < PR)
                cq_cp16_s(dst + 32 * k, src + 32 * k);
            else
                cq_cp16_s_if(dst + 32 * k, src + 32 * k, last_piece);
        }
    };
    auto issue = [&](int j, int slot_off, const cq_u8* src) {
        if (j < nfast)
            issue_fast(slot_off, src);
        else if (j < nst)
            slow_copy(j, slot_off);
        cq_cp_commit();
    };
    // Stage from the slot at byte offset rs, all KB blocks.
    auto compute_full = [&](int rs, const uint4* xq, float (&acc)[NT][4]) {
        const cq_u8* const ra = rdg + rs;  // row g; row g + 8 at + 8 * SR
        const cq_u8* const rq = rdq + rs;
#pragma unroll
        for (int p = 0; p < KB / 2; ++p) {
            cq_u32 qe[2], qo[2];
            float de[2], dd[2];
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                const int o = 36 * p + h * 8 * SR;
                const cq_u32 w0 = *reinterpret_cast<const cq_u32*>(ra + o);
                const cq_u32 w16 = *reinterpret_cast<const cq_u32*>(ra + o + 16);
                const cq_u32 wq = *reinterpret_cast<const cq_u32*>(rq + o);
                qo[h] = *reinterpret_cast<const cq_u32*>(rq + o + 20);
                qe[h] = __byte_perm(wq, w16, sel);
                de[h] = cq_half_lo(w0);
                dd[h] = cq_half_hi(w16);
            }
            cq_i8_block<NT>(qe[0], qe[1], de[0], de[1], xq + (2 * p) * (NT * 32), acc);
            cq_i8_block<NT>(qo[0], qo[1], dd[0], dd[1], xq + (2 * p + 1) * (NT * 32), acc);
        }
    };
    // Stage i (relative to st0) from the slot at byte offset rs: full, or the
    // partial last stage.
    auto compute = [&](int i, int rs, const uint4* xq, float (&acc)[NT][4]) {
        if (i < nfull) {
            compute_full(rs, xq, acc);
        } else {  // the last, partial stage: any block count and parity
            const cq_u8* const ra = rdg + rs;
            const int nbl = nb - (st0 + i) * KB;
            for (int bl = 0; bl < nbl; ++bl) {
                cq_u32 q[2];
                float dv[2];
#pragma unroll
                for (int h = 0; h < 2; ++h) {
                    const cq_u8* blk = ra + 18 * bl + h * 8 * SR;
                    dv[h] = cq_half_to_float(*reinterpret_cast<const cq_u16*>(blk));
                    if (bl & 1)
                        q[h] = *reinterpret_cast<const cq_u32*>(blk + 2 + 4 * t);
                    else
                        q[h] = __byte_perm(*reinterpret_cast<const cq_u32*>(blk + 4 * t),
                                           *reinterpret_cast<const cq_u32*>(blk + 16), sel);
                }
                cq_i8_block<NT>(q[0], q[1], dv[0], dv[1], xq + bl * (NT * 32), acc);
            }
        }
    };

    float acc[NT][4];
#pragma unroll
    for (int nt = 0; nt < NT; ++nt)
#pragma unroll
        for (int i = 0; i < 4; ++i) acc[nt][i] = 0.0f;

#pragma unroll
    for (int s = 0; s < ST - 1; ++s) issue(s, s * STAGE, gsrc + s * (KB * CQ_QB));
    gsrc += (ST - 1) * (KB * CQ_QB);

    int rs = 0, ws_off = (ST - 1) * STAGE;  // read / write slot offsets
    int i = 0;
    // Steady state: every stage read is full and every stage issued is a
    // cp.async one (no condition but the loop's).
    for (; i < nfast - (ST - 1); ++i) {
        cq_cp_wait<ST - 2>();
        __syncwarp();
        issue_fast(ws_off, gsrc);
        cq_cp_commit();
        gsrc += KB * CQ_QB;
        compute_full(rs, xp, acc);
        xp += RSTEP;
        rs = rs == (ST - 1) * STAGE ? 0 : rs + STAGE;
        ws_off = ws_off == (ST - 1) * STAGE ? 0 : ws_off + STAGE;
    }
    // The rest: draining, partial stages, modes 1 / 0.
    for (; i < nst; ++i) {
        cq_cp_wait<ST - 2>();
        __syncwarp();
        issue(i + ST - 1, ws_off, gsrc);
        gsrc += KB * CQ_QB;
        compute(i, rs, xp, acc);
        xp += RSTEP;
        rs = rs == (ST - 1) * STAGE ? 0 : rs + STAGE;
        ws_off = ws_off == (ST - 1) * STAGE ? 0 : ws_off + STAGE;
    }
    cq_cp_wait<0>();

    // Limbs -> values: threads t, t ^ 1 hold limbs (0, 1) and (2, 3) of row
    // m = 2 nt + t / 2; the even one adds and stores.
    const float sh = (t & 1) ? 256.0f : 16777216.0f, sl = (t & 1) ? 1.0f : 65536.0f;
#pragma unroll
    for (int nt = 0; nt < NT; ++nt) {
        // (CQ_MUL / CQ_ADD: no flush to zero, as everywhere in this kernel)
        const float pa = cq_fma_rn(acc[nt][0], sh, CQ_MUL(acc[nt][1], sl));
        const float pb = cq_fma_rn(acc[nt][2], sh, CQ_MUL(acc[nt][3], sl));
        const float va = CQ_ADD(pa, CQ_SHFL_XOR(pa, 1));
        const float vb = CQ_ADD(pb, CQ_SHFL_XOR(pb, 1));
        const int m = 2 * nt + (t >> 1);
        if ((t & 1) == 0 && m < M) {
            if (n_split == 1) {
                if (g < rows) cq_store1(y + (cq_i64)m * ldy + n0 + g, va);
                if (g + 8 < rows) cq_store1(y + (cq_i64)m * ldy + n0 + g + 8, vb);
            } else {
                float* wp = ws + ((cq_i64)split * M + m) * N + n0;
                if (g < rows) wp[g] = va;
                if (g + 8 < rows) wp[g + 8] = vb;
            }
        }
    }
    if (n_split == 1) return;
    // Split-K: the last warp of the tile to arrive adds the partial sums in
    // split order (deterministic) and writes y. Lane 0's counter increment
    // releases the warp's workspace writes (ordered before it by __syncwarp;
    // a release is cumulative) and acquires the other splits'; the
    // __syncwarp after it passes that on to the warp's lanes.
    __syncwarp();
    int last = 0;
    if (lane == 0) last = cq_atom_add_acq_rel_gpu(counters + tile, 1) == n_split - 1;
    last = CQ_SHFL(last, 0);
    __syncwarp();
    if (!last) return;
    for (int i = lane; i < 16 * M; i += 32) {
        const int r = i & 15, m = i >> 4;
        if (r < rows) {
            float v = 0.0f;
            for (int s = 0; s < n_split; ++s) v = CQ_ADD(v, cq_ld_cg(ws + ((cq_i64)s * M + m) * N + n0 + r));
            cq_store1(y + (cq_i64)m * ldy + n0 + r, v);
        }
    }
    if (lane == 0) counters[tile] = 0;  // ready for the next launch on this stream
#endif
}

// Activations (M rows of XT, leading dimension ldx, K = 32 nb) -> records
// rec[nb][NT][32] (uint4), one warp a (block b, row m < 2 NT); rows m >= M get
// zero limbs. Lane k holds block value k.
template <class XT>
__device__ __forceinline__ float cq_i8_load_x(const XT* p);
template <>
__device__ __forceinline__ float cq_i8_load_x<float>(const float* p) { return *p; }
template <>
__device__ __forceinline__ float cq_i8_load_x<cq_f16>(const cq_f16* p) {
    return cq_half_to_float(*reinterpret_cast<const cq_u16*>(p));
}

template <class XT>
__device__ __forceinline__ void cq_xprep_i8(const XT* __restrict__ x, cq_i64 ldx, int M, int nb, int NT,
                                            uint4* __restrict__ rec) {
#if defined(CQ_SM80)
    const int lane = threadIdx.x & 31;
    const int wid = blockIdx.x * (CQ_MM_THREADS / 32) + (threadIdx.x >> 5);
    const int MC = 2 * NT;
    if (wid >= nb * MC) return;
    const int b = wid / MC, m = wid - b * MC;
    const float v = m < M ? cq_i8_load_x<XT>(x + (cq_i64)m * ldx + (cq_i64)b * 32 + lane) : 0.0f;
    const cq_u32 amax = __reduce_max_sync(0xffffffffu, __float_as_uint(v) & 0x7fffffffu);
    const bool bad = amax >= 0x7f800000u;  // Inf or NaN in the block
    int s = 0;
    if (amax != 0u && !bad) {
        const int e = amax >= 0x00800000u ? (int)(amax >> 23) - 127 : (31 - __clz((int)amax)) - 149;
        s = cq_imin(29 - e, 149);
    }
    // x * 2^sl exactly, as two power-of-two factors within the float range.
    const int sl = lane < 16 ? s : s - 4, s1 = sl >> 1, s2 = sl - s1;
    const float xs = CQ_MUL(CQ_MUL(v, __uint_as_float((cq_u32)(127 + s1) << 23)),
                            __uint_as_float((cq_u32)(127 + s2) << 23));
    int r = bad ? 0 : __float2int_rn(xs);
    int L[4];
#pragma unroll
    for (int j = 3; j >= 0; --j) {
        if (j > 0) {
            L[j] = (int)(signed char)(r & 0xff);
            r = (r - L[j]) >> 8;
        } else {
            L[0] = r;  // |r| <= 64
        }
    }
    const int wk = lane < 16 ? 1 : 16;
    cq_u32 kk[4];
#pragma unroll
    for (int j = 0; j < 4; ++j) {
        const int corr = __reduce_add_sync(0xffffffffu, L[j] * wk);
        // -KK: sign bit set (the mv kernel adds it); a NaN for a non-finite block
        kk[j] = bad ? 0xffc00000u : 0x80000000u + ((cq_u32)(150 - s) << 23) + 0x00400000u + (cq_u32)(8 * corr);
    }
    const int half = m & 1, nt = m >> 1;
    cq_u32* rw = reinterpret_cast<cq_u32*>(rec + ((cq_i64)b * NT + nt) * 32);
    // Limb words: lane u -> limb j = u / 8, thread tt = (u / 2) % 4, high half hi = u % 2.
    const cq_u32 pk = (cq_u32)(L[0] & 0xff) | ((cq_u32)(L[1] & 0xff) << 8) | ((cq_u32)(L[2] & 0xff) << 16) |
                      ((cq_u32)L[3] << 24);
    {
        const int j = lane >> 3, tt = (lane >> 1) & 3, hi = lane & 1;
        cq_u32 vv[4];
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            const int k = ((b & 1) ? 4 * tt + i : ((4 * tt - 2 + i) & 15)) + 16 * hi;
            vv[i] = CQ_SHFL(pk, k);
        }
        const cq_u32 bs = (cq_u32)j | ((cq_u32)(j + 4) << 4);
        const cq_u32 word = __byte_perm(__byte_perm(vv[0], vv[1], bs), __byte_perm(vv[2], vv[3], bs), 0x5410);
        const int c = 4 * half + j;
        rw[(4 * c + tt) * 4 + hi] = word;
    }
    {   // KK words: lane u -> group gg = u / 4, column c = 4 half + u % 4.
        const int gg = lane >> 2, cl = lane & 3, c = 4 * half + cl;
        const cq_u32 kv = cl == 0 ? kk[0] : cl == 1 ? kk[1] : cl == 2 ? kk[2] : kk[3];
        rw[(4 * gg + (c >> 1)) * 4 + 2 + (c & 1)] = kv;
    }
#endif
}

// ------------------------------------------------------------ instantiations
// Thread blocks an SM the register budget allows: 4 (64 registers) for one or
// two n8 tiles, 3 (80 registers) for three or four (at 64 they spill and stall).
#ifndef CQ_I8_MIN_BLOCKS
#define CQ_I8_MIN_BLOCKS(NT) ((NT) <= 2 ? 4 : 3)
#endif
#if defined(CQ_CUDA)
#define CQ_I8_BOUNDS(NT) __launch_bounds__(CQ_MM_THREADS, CQ_I8_MIN_BLOCKS(NT))
#else
#define CQ_I8_BOUNDS(NT) __launch_bounds__(CQ_MM_THREADS)
#endif
#define CQ_MVI8_KERNEL(ON, OT, NT, KB, ST)                                                               \
    extern "C" __global__ void CQ_I8_BOUNDS(NT) cq_q4_0_mvi8_##ON##_n##NT##_k##KB##_s##ST(                   \
        const cq_u8* __restrict__ w, cq_i64 row_bytes, int N, int nb, const uint4* __restrict__ xr,      \
        int M, OT* __restrict__ y, cq_i64 ldy, int mode, int tiles, int sps, float* __restrict__ ws,    \
        int* __restrict__ counters) {                                                                   \
        cq_mv_i8<NT, OT, KB, ST>(w, row_bytes, N, nb, xr, M, y, ldy, mode, tiles, sps, ws, counters);   \
    }
// Every output type and n8-tile count of one geometry (KB blocks a stage, ST stages).
#define CQ_MVI8_GEOM(KB, ST)                                                                        \
    CQ_MVI8_KERNEL(f32, float, 1, KB, ST) CQ_MVI8_KERNEL(f32, float, 2, KB, ST)                       \
    CQ_MVI8_KERNEL(f32, float, 3, KB, ST) CQ_MVI8_KERNEL(f32, float, 4, KB, ST)                       \
    CQ_MVI8_KERNEL(f16, cq_f16, 1, KB, ST) CQ_MVI8_KERNEL(f16, cq_f16, 2, KB, ST)                     \
    CQ_MVI8_KERNEL(f16, cq_f16, 3, KB, ST) CQ_MVI8_KERNEL(f16, cq_f16, 4, KB, ST)                     \
    CQ_MVI8_KERNEL(bf16, cq_bf16, 1, KB, ST) CQ_MVI8_KERNEL(bf16, cq_bf16, 2, KB, ST)                 \
    CQ_MVI8_KERNEL(bf16, cq_bf16, 3, KB, ST) CQ_MVI8_KERNEL(bf16, cq_bf16, 4, KB, ST)

#define CQ_XPREP_I8_KERNEL(XN, XT)                                                                       \
    extern "C" __global__ void __launch_bounds__(CQ_MM_THREADS) cq_q4_0_xprep_i8_##XN(                  \
        const XT* __restrict__ x, cq_i64 ldx, int M, int nb, int NT, uint4* __restrict__ rec) {          \
        cq_xprep_i8<XT>(x, ldx, M, nb, NT, rec);                                                        \
    }
CQ_XPREP_I8_KERNEL(f16, cq_f16)
CQ_XPREP_I8_KERNEL(f32, float)
CQ_MVI8_GEOM(8, 3)
