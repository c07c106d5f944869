// cupyquant: fused Q4_0 matrix-matrix product on Hopper's warpgroup tensor-core
// instructions (wgmma, NVIDIA sm_90a), y[m, n] = sum_k x[m, k] * W[n, k].
//
// Concatenated after common.h and q4_0_mm_common.hip (no #include), compiled
// as a module of its own for sm_90a (cupyquant/matmul_kernels.py): wgmma
// exists only on that architecture-specific target. Everywhere else the
// kernels compile to an empty body (cq_q4_0_sm90a_compiled reports which) and
// the host does not launch them.
//
// A thread block holds ROWS weight rows and BN (64, 128 or 256) activation
// rows: 128 weight rows as two warpgroups of 64, or 64 weight rows as one
// warpgroup or as two that take turns over K (even / odd stages, their sums
// added in shared memory at the end). The weights are the wgmma "A" operand,
// decoded from their Q4_0 blocks straight into registers as float16 d * (q - 8) (one
// rounding, as the mma.sync matrix-matrix kernel of q4_0_matmul.hip); the
// activations (float16) are the "B" operand, which wgmma reads from shared
// memory through a matrix descriptor (K-major, 128-byte swizzle). A stage is
// 64 of K: BN rows x 128 bytes of x in a ring of CQ_WG_ST(BN) slots, refilled
// that many stages less 2 ahead so that the wgmma of the previous stage may
// still run while the next is issued. The weights come four stages at a time
// (8 Q4_0 blocks, 144 bytes a row) into two slots of their own.
// Two ways to copy (the host picks):
// - the _tma_ kernels: thread 0 issues one TMA copy a stage for x and one
//   every fourth stage for the weights (tensor maps from the host); every
//   slot has a "full" and an "empty" mbarrier, and the warps meet nowhere
//   else in the loop. H200, M = 512, float16 x, against x by TMA with the
//   weights by cp.async and a thread-block barrier a stage: 4096^2 35.6 ->
//   34.8 us, 14336 x 4096 99.4 -> 95.2, 4096 x 14336 113.4 -> 121.2 (the one
//   shape it loses), 128256 x 4096 939 -> 891; M = 1000 on 4096^2 61.0 ->
//   52.8 (notes/h200_s16 run 2);
// - otherwise cp.async from every thread (16-byte copies) and a thread-block
//   barrier a stage.
// The weights' decode is one lop3, one exact fma and the product by d a
// register pair (cq_deq_pair_f16).
//
// k order: thread t of a warp holds, for rows g and g + 8 of its warp's 16, the
// k pairs (2t, 2t + 1) and (2t + 8, 2t + 9) of each k16 step (the wgmma A
// fragment). In a Q4_0 block value j < 16 is the low nibble of qs[j] and value
// 16 + j its high nibble: the bytes qs[2t], qs[2t + 1], qs[8 + 2t], qs[9 + 2t]
// hold all eight values thread t needs from the block's two k16 steps.
//
// Split-K (grids with few thread blocks, whose serial stages would be the
// limit): thread block z of gridDim.z takes stages [z * stages_per_split, ...)
// (a multiple of 4), writes its float32 partial sums to ws[z][m][n], and the
// last of a tile's thread blocks to arrive (counters, left zero again) adds
// them up in split order (deterministic) and writes y.
//
// Requirements (checked by the host, cupyquant/qmatmul/wgmma.py): K a multiple of
// 256, the weight buffer 16-byte aligned, x float16 with rows of K elements
// (16-byte aligned).

#if defined(CQ_CUDA) && defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define CQ_SM90A 1
#endif

#ifndef CQ_WG_STAGES
#define CQ_WG_STAGES 4
#endif
// ... and for 64-row thread blocks (small M): their x slots are 8 KiB, so 6
// of them (4 stages ahead) still leave two thread blocks an SM. H200, float16
// x, 14336 x 4096, M = 17 / 64: 32.8-36.3 / 33.6 us with 4 slots, 29.1 / 29.4
// with 6 (notes/h200_s16 run 3).
#ifndef CQ_WG_STAGES_N64
#define CQ_WG_STAGES_N64 6
#endif
#define CQ_WG_ST(BN) ((BN) == 64 ? CQ_WG_STAGES_N64 : CQ_WG_STAGES)
// ... and where two warpgroups take turns over K (KW = 2): each owns every
// other slot, and a slot is free again only two of its own stages later (its
// wgmma waited for one stage after it), so 6 slots give it one stage ahead
// (LEAD 2 of the block's stages), as the 4 slots of the other kernels.
#define CQ_WG_STAGES_K2 6
#define CQ_WG_STX(BN, KW) ((KW) == 2 ? CQ_WG_STAGES_K2 : CQ_WG_ST(BN))
// TMA: x stages copied CQ_WG_ST - 2 - CQ_WG_SLACK ahead. Thread 0 refills the
// slot of stage i - 2 - CQ_WG_SLACK at stage i, so it waits for the other
// warpgroup only if that one is more than CQ_WG_SLACK stages behind. Kept at
// 0: rings of 5 / 6 slots with slack 1 / 2 were slower (H200, 4096^2 M = 512
// 32.3-32.6 -> 34.3-34.7 us; 5 / 6 slots with slack 0, i.e. more lead, too:
// notes/h200_s17 runs 3 and 6).
#ifndef CQ_WG_SLACK
#define CQ_WG_SLACK 0
#endif
#ifndef CQ_WG_SUM_U4
#define CQ_WG_SUM_U4 8
#endif
// Unsplit launches with 2-byte outputs (float16, bfloat16) store y through
// shared memory: the sums go in as rows of 8 outputs (stmatrix, transposed)
// and leave as 16-byte stores of whole output rows. Stored one at a time
// from the mma layout, each warp store wrote 4 pieces of 16 bytes, half of
// every 32-byte sector. H200, float16 x and y, M = 512, us, one module, both
// orders (notes/h200_s24 run 3): 4096^2 29.5-30.0 -> 28.2-28.6, 14336 x 4096
// 87.9-91.4 -> 86.7-87.1, 128256 x 4096 859-860 -> 814-823. 0: the direct
// stores (A/B probes).
#ifndef CQ_WG_EPI_SMEM
#define CQ_WG_EPI_SMEM 1
#endif
#define CQ_WG_ROWS 128  // weight rows a thread block of two warpgroups (kernels without _r64)
// Thread blocks of 64 weight rows (_r64: one warpgroup; _r64x2: two taking
// turns over K) with 256 activation rows make the same products per weight
// decoded as the 128 x 256 ones on twice as many thread blocks: one wave of
// them where 128 x 256 blocks would leave half the SMs idle (4096 weight
// rows, M = 512: 128 thread blocks).
// Warpgroups taking turns over K on the same weight rows: 1, or 2 (WGS = 2
// warpgroups on 64 rows).
#define CQ_WG_KW(ROWS, WGS) ((WGS) * 64 / (ROWS))
// Dynamic shared memory: the x stages, two weight slots, 1024 bytes to align
// the x tiles for the swizzle. cupyquant/matmul_kernels.py wgmma_smem_bytes mirrors it.
#define CQ_WG_SMEM(BN, ROWS, WGS) (CQ_WG_STX(BN, CQ_WG_KW(ROWS, WGS)) * (BN) * 128 + 2 * (ROWS) * 144 + 1024)

#if defined(CQ_SM90A)
__device__ __forceinline__ void cq_wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void cq_wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
template <int N>
__device__ __forceinline__ void cq_wgmma_wait() { asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory"); }
// Shared-memory writes of the generic proxy (cp.async) made visible to the
// async proxy through which wgmma reads.
__device__ __forceinline__ void cq_fence_proxy_async() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }
// wgmma matrix descriptor of a K-major tile with 128-byte swizzle at shared
// address addr: 8-row groups 1024 bytes apart (stride), leading offset unused.
__device__ __forceinline__ cq_u64 cq_wgmma_desc_sw128(cq_u32 addr) {
    return (cq_u64)((addr & 0x3FFFF) >> 4) | ((cq_u64)1 << 16) | ((cq_u64)(1024 >> 4) << 32) | ((cq_u64)1 << 62);
}
// d (64 x 64, float32) += A (64 x 16, float16 registers) * B (16 x 64, float16, shared
// memory, K-major, 128-byte swizzle, descriptor desc).
__device__ __forceinline__ void cq_wgmma_n64(float* d, const cq_u32* a, cq_u64 desc) {
    asm volatile("wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16 "
                 "{"
                 "%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,"
                 "%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31"
                 "}, {%32,%33,%34,%35}, %36, 1, 1, 1, 0;\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]),
                   "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]),
                   "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]),
                   "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc));
}
// d (64 x 128, float32) += A (64 x 16, float16 registers) * B (16 x 128, float16, shared
// memory, K-major, 128-byte swizzle, descriptor desc).
__device__ __forceinline__ void cq_wgmma_n128(float* d, const cq_u32* a, cq_u64 desc) {
    asm volatile("wgmma.mma_async.sync.aligned.m64n128k16.f32.f16.f16 "
                 "{"
                 "%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,"
                 "%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31,"
                 "%32,%33,%34,%35,%36,%37,%38,%39,%40,%41,%42,%43,%44,%45,%46,%47,"
                 "%48,%49,%50,%51,%52,%53,%54,%55,%56,%57,%58,%59,%60,%61,%62,%63"
                 "}, {%64,%65,%66,%67}, %68, 1, 1, 1, 0;\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]),
                   "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]),
                   "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]),
                   "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]),
                   "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]),
                   "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]),
                   "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]),
                   "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc));
}
// d (64 x 256, float32) += A (64 x 16, float16 registers) * B (16 x 256, float16, shared
// memory, K-major, 128-byte swizzle, descriptor desc).
__device__ __forceinline__ void cq_wgmma_n256(float* d, const cq_u32* a, cq_u64 desc) {
    asm volatile("wgmma.mma_async.sync.aligned.m64n256k16.f32.f16.f16 "
                 "{"
                 "%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,"
                 "%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31,"
                 "%32,%33,%34,%35,%36,%37,%38,%39,%40,%41,%42,%43,%44,%45,%46,%47,"
                 "%48,%49,%50,%51,%52,%53,%54,%55,%56,%57,%58,%59,%60,%61,%62,%63,"
                 "%64,%65,%66,%67,%68,%69,%70,%71,%72,%73,%74,%75,%76,%77,%78,%79,"
                 "%80,%81,%82,%83,%84,%85,%86,%87,%88,%89,%90,%91,%92,%93,%94,%95,"
                 "%96,%97,%98,%99,%100,%101,%102,%103,%104,%105,%106,%107,%108,%109,%110,%111,"
                 "%112,%113,%114,%115,%116,%117,%118,%119,%120,%121,%122,%123,%124,%125,%126,%127"
                 "}, {%128,%129,%130,%131}, %132, 1, 1, 1, 0;\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]),
                   "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]),
                   "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]),
                   "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]),
                   "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]),
                   "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]),
                   "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]),
                   "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63]),
                   "+f"(d[64]), "+f"(d[65]), "+f"(d[66]), "+f"(d[67]), "+f"(d[68]), "+f"(d[69]), "+f"(d[70]), "+f"(d[71]),
                   "+f"(d[72]), "+f"(d[73]), "+f"(d[74]), "+f"(d[75]), "+f"(d[76]), "+f"(d[77]), "+f"(d[78]), "+f"(d[79]),
                   "+f"(d[80]), "+f"(d[81]), "+f"(d[82]), "+f"(d[83]), "+f"(d[84]), "+f"(d[85]), "+f"(d[86]), "+f"(d[87]),
                   "+f"(d[88]), "+f"(d[89]), "+f"(d[90]), "+f"(d[91]), "+f"(d[92]), "+f"(d[93]), "+f"(d[94]), "+f"(d[95]),
                   "+f"(d[96]), "+f"(d[97]), "+f"(d[98]), "+f"(d[99]), "+f"(d[100]), "+f"(d[101]), "+f"(d[102]), "+f"(d[103]),
                   "+f"(d[104]), "+f"(d[105]), "+f"(d[106]), "+f"(d[107]), "+f"(d[108]), "+f"(d[109]), "+f"(d[110]), "+f"(d[111]),
                   "+f"(d[112]), "+f"(d[113]), "+f"(d[114]), "+f"(d[115]), "+f"(d[116]), "+f"(d[117]), "+f"(d[118]), "+f"(d[119]),
                   "+f"(d[120]), "+f"(d[121]), "+f"(d[122]), "+f"(d[123]), "+f"(d[124]), "+f"(d[125]), "+f"(d[126]), "+f"(d[127])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc));
}
// ---- x through the tensor memory accelerator (TMA): one thread copies a
// stage's BN x 64 box of x (2D tensor map, 128-byte swizzle, rows past M
// zero-filled) and an mbarrier a slot counts its bytes in.
__device__ __forceinline__ void cq_mbar_init(cq_u32 bar, int count) {
    asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(count) : "memory");
}
// The barriers' initialisation made visible to the async proxy (TMA).
__device__ __forceinline__ void cq_fence_mbar_init() {
    asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
}
__device__ __forceinline__ void cq_mbar_expect_tx(cq_u32 bar, cq_u32 bytes) {
    asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(bar), "r"(bytes) : "memory");
}
// One arrival (release: this thread's earlier shared-memory reads are done).
__device__ __forceinline__ void cq_mbar_arrive(cq_u32 bar) {
    asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(bar) : "memory");
}
__device__ __forceinline__ void cq_mbar_wait(cq_u32 bar, cq_u32 phase) {
    cq_u32 done;
    do {
        asm volatile("{ .reg .pred p; mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2; selp.u32 %0, 1, 0, p; }\n"
                     : "=r"(done) : "r"(bar), "r"(phase) : "memory");
    } while (!done);
}
// Box at element coordinates (c0 along K, c1 along M) of the tensor map at
// tmap (a __grid_constant__ kernel parameter) into shared memory at dst.
__device__ __forceinline__ void cq_tma_load_2d(cq_u32 dst, const void* tmap, int c0, int c1, cq_u32 bar) {
    asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3}], [%4];\n"
                 ::"r"(dst), "l"(reinterpret_cast<cq_u64>(tmap)), "r"(c0), "r"(c1), "r"(bar) : "memory");
}

// Four 8 x 8 matrices of 16-bit values in the mma accumulator layout (thread
// lane: row lane / 4, columns 2 (lane % 4) and + 1 of each, r[i] for matrix
// i) stored transposed: matrix i's column j becomes the 16 bytes at the
// shared address of lane 8 i + j.
__device__ __forceinline__ void cq_stmatrix_x4_trans(cq_u32 addr, const cq_u32* r) {
    asm volatile("stmatrix.sync.aligned.m8n8.x4.trans.shared.b16 [%0], {%1, %2, %3, %4};\n"
                 ::"r"(addr), "r"(r[0]), "r"(r[1]), "r"(r[2]), "r"(r[3]) : "memory");
}
__device__ __forceinline__ cq_u32 cq_pack2(const cq_f16*, float lo, float hi) { return cq_float2_to_half2(lo, hi); }
__device__ __forceinline__ cq_u32 cq_pack2(const cq_bf16*, float lo, float hi) { return cq_float2_to_bf16x2(lo, hi); }

template <int BN>
__device__ __forceinline__ void cq_wgmma(float* d, const cq_u32* a, cq_u64 desc) {
    if constexpr (BN == 64)
        cq_wgmma_n64(d, a, desc);
    else if constexpr (BN == 128)
        cq_wgmma_n128(d, a, desc);
    else
        cq_wgmma_n256(d, a, desc);
}
#endif

// The CUtensorMap of cuda.h (128 opaque bytes, 64-byte aligned), filled on the
// host by cuTensorMapEncodeTiled (cupyquant/gpu/tensor_map.py).
struct alignas(64) cq_tensor_map {
    cq_u64 opaque[16];
};
#if defined(CQ_CUDA)
#define CQ_GRID_CONSTANT __grid_constant__  // passed by value, addressable (sm_70+)
#else
#define CQ_GRID_CONSTANT
#endif

// TMA: x and the weights come through the tensor maps xmap and wmap (x is
// then unused, w only for its address in wmap); otherwise through cp.async.
template <class OT, int BN, bool TMA, int ROWS, int WGS, bool EPI = CQ_WG_EPI_SMEM != 0>
__device__ __forceinline__ void cq_mm_wgmma(const cq_u8* __restrict__ w, cq_i64 row_bytes, int N, int nb,
                                            const cq_u16* __restrict__ x, cq_i64 ldx, int M,
                                            OT* __restrict__ y, cq_i64 ldy, int stages_per_split,
                                            float* __restrict__ ws, int* __restrict__ counters,
                                            const cq_tensor_map* xmap, const cq_tensor_map* wmap) {
#if defined(CQ_SM90A)
    constexpr int KW = CQ_WG_KW(ROWS, WGS);  // warpgroups taking turns over K: stage i is warpgroup i % KW's
    constexpr int ST = CQ_WG_STX(BN, KW), THREADS = 128 * WGS;
    constexpr int XR = THREADS / 8;  // x rows a pass of the copies
    constexpr int ND = BN / 2;       // accumulators a thread
    constexpr int WP = (ROWS * 9 + THREADS - 1) / THREADS;  // weight pieces a thread
    constexpr int LEAD = KW == 2 ? ST - 4 : TMA ? ST - 2 - CQ_WG_SLACK : ST - 2;  // x stages copied ahead
    static_assert(LEAD >= 1 && LEAD <= 4, "the weights of stages 4G .. 4G + 3 go with x stage 4G - 4 + LEAD");
    static_assert((ROWS == 64 || (ROWS == 128 && WGS == 2)) && (WGS == 1 || WGS == 2) && ST >= 3 && ST <= 6,
                  "one or two warpgroups; a weight slot is refilled 4 stages after its last reader");
    static_assert(KW == 1 || (TMA && ST % 2 == 0 && LEAD % 2 == 0), "turns over K: TMA, every other slot");
    const cq_u32 sbase = (cq_smem_addr(cq_dyn_smem) + 1023u) & ~1023u;
    const cq_u32 wbase = sbase + ST * BN * 128;
    const cq_u8* const smem_generic = reinterpret_cast<const cq_u8*>(cq_dyn_smem) - cq_smem_addr(cq_dyn_smem);
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int g = lane >> 2, t = lane & 3;
    const int m0 = blockIdx.x * BN;    // activation rows vary fastest, so that the thread
    const int n0 = blockIdx.y * ROWS;  // blocks sharing a weight tile run together
    const int split = blockIdx.z, n_split = gridDim.z;
    const int kt0 = split * stages_per_split;                                     // first stage (K / 64) ...
    const int nst = (nb / 2 < kt0 + stages_per_split ? nb / 2 : kt0 + stages_per_split) - kt0;  // ... and count

    // Copies. Every address is a fixed offset from pointers set up here: the
    // copies sit between a stage's barrier and its wgmma.
    // x: local stage i -> slot i % ST; piece c (16 bytes) of row j at
    // j * 128 + ((c ^ (j & 7)) << 4) (the 128-byte swizzle). Thread tid copies
    // piece tid % 8 of the rows tid / 8 + XR i.
    const int xj = tid >> 3, xc = tid & 7;
    const cq_u16* const xg = x + (cq_i64)(m0 + xj) * ldx + xc * 8;
    const cq_i64 xpass = XR * ldx;
    const cq_u32 xdst = xj * 128 + ((xc ^ (xj & 7)) << 4);
    cq_u32 xok = 0;  // bit i: row xj + XR i exists
#pragma unroll
    for (int i = 0; i < BN / XR; ++i) xok |= (cq_u32)(m0 + xj + XR * i < M) << i;
    // Weights: local stages 4s .. 4s + 3 (144 bytes a row) -> slot s % 2, copied
    // with the x of local stage 4s (kt0 is a multiple of 4). Thread tid copies
    // the pieces p = tid + THREADS i (row p / 9, piece p % 9); rows past N are
    // zero-filled (d = 0: finite zeros).
    const cq_u8* wsrc[WP];
    cq_u32 wdst[WP], wok = 0;
#pragma unroll
    for (int i = 0; i < WP; ++i) {
        const int p = tid + THREADS * i, r = p / 9, c = p - 9 * r;
        const bool ok = p < ROWS * 9 && n0 + r < N;
        wok |= (cq_u32)ok << i;
        wsrc[i] = w + (ok ? (cq_i64)(n0 + r) * row_bytes + c * 16 : 0);
        wdst[i] = r * 144 + c * 16;
    }
    // TMA: thread 0 (with turns over K, the first thread of the stage's
    // warpgroup) copies a stage's x (a box of BN rows from row mx, or M rounded
    // up to 8 where M < BN: matmul_kernels.wgmma_x_box_rows mirrors it; rows of
    // a slot past it are never written and only feed the accumulator columns of
    // activation rows >= M, which are not stored) and every fourth stage thread
    // 0 the weights (ROWS rows x 144 bytes; rows past N read as zero: d = 0,
    // finite zeros). Each slot has a "full" mbarrier (the copy's bytes) and an
    // "empty" one (one arrival a warp: its wgmma of the slot's stage, or its
    // decode of the weight slot's last stage, is done), so that no barrier of
    // the whole thread block is needed in the loop and the two warpgroups run
    // apart. A barrier completes once a use of its slot: use u of x slot
    // i % ST is local stage i = u ST + i % ST (phase u & 1); weight slot
    // (i / 4) % 2 serves stages i .. i + 3, use i / 8.
    const cq_u32 xbox_bytes = (cq_u32)cq_imin(BN, (M + 7) & ~7) * 128;
    // The x slots hold activation rows mx .. mx + BN - 1: in the 64-row
    // kernels, for the last activation tile where it is partly past M, the BN
    // rows before M (TMA, M >= BN), so that its box is in bounds: a box mostly
    // past M, zero-filled by the TMA, was slow (H200, blocks of 64 x 256,
    // 4096^2, M = 512 / 384 / 300: 29.8 / 42.7 / 61.7 us, then 29.6 / 29.5 /
    // 29.4 with the shift; notes/h200_s18 runs 1 and 3). The rows below m0
    // are then another thread block's: not stored here. (Copying a stage as
    // four 64-row boxes instead was slower still, 42.4 us at M = 512, run 2.)
    // Not in the 128-row kernels: there the shift cost 3-6% at full tiles (their
    // registers 188 -> 220 with 256 activation rows; 14336 x 4096 / 128256 x
    // 4096 at M = 512, run 3), and the host avoids their mostly empty last
    // tiles (qmatmul.wgmma._wgmma_plan).
    constexpr bool SHIFT = TMA && ROWS == 64;
    const int mx = SHIFT && M >= BN ? cq_imin(m0, M - BN) : m0;
    constexpr int WARPS = THREADS / 32;
    __shared__ cq_u64 bars[TMA ? 2 * ST + 4 : 1];
    const cq_u32 xfull = cq_smem_addr(bars), xempty = xfull + 8 * ST, wfull = xempty + 8 * ST,
                 wempty = wfull + 16;
    if (TMA) {
        if (tid == 0) {
#pragma unroll
            for (int s = 0; s < ST; ++s) {
                cq_mbar_init(xfull + 8 * s, 1);
                cq_mbar_init(xempty + 8 * s, WARPS / KW);  // the warps of the slot's warpgroups
            }
#pragma unroll
            for (int s = 0; s < 2; ++s) {
                cq_mbar_init(wfull + 8 * s, 1);
                cq_mbar_init(wempty + 8 * s, WARPS);
            }
            cq_fence_mbar_init();
            asm volatile("prefetch.tensormap [%0];\n" ::"l"(reinterpret_cast<cq_u64>(xmap)) : "memory");
            asm volatile("prefetch.tensormap [%0];\n" ::"l"(reinterpret_cast<cq_u64>(wmap)) : "memory");
        }
        __syncthreads();
    }
    auto issue = [&](int i) {  // local stage i, stage kt0 + i of K (TMA: thread 0 only)
        if (i < nst) {
            const int kt = kt0 + i;
            const cq_u32 slot = sbase + (i % ST) * (BN * 128);
            if (TMA) {
                const int u = i / ST;
                const cq_u32 full = xfull + 8 * (i % ST);
                if (u > 0) cq_mbar_wait(xempty + 8 * (i % ST), (u - 1) & 1);  // stage i - ST's wgmma done
                cq_mbar_expect_tx(full, xbox_bytes);
                cq_tma_load_2d(slot, xmap, kt * 64, mx, full);
                // The weights of group G (stages 4G .. 4G + 3) go with x stage
                // 4G - WOFF, so that they are asked for at stage 4G - 4 whatever
                // the x ring: as soon as their slot's last group (stages
                // 4G - 8 .. 4G - 5) is decoded. With the x (2 stages ahead, ring
                // of 4) they waited on the memory: the top stall of the kernel
                // (ncu, notes/h200_s16 run 8).
                constexpr int WOFF = 4 - LEAD;
                const int wi = i + WOFF;
                if ((wi & 3) == 0 || i == 0) {
                    const int G = (wi & 3) == 0 ? wi >> 2 : 0;
                    if (4 * G < nst) {
                        const int wsl = G & 1, wu = G >> 1;
                        const cq_u32 wfl = wfull + 8 * wsl;
                        if (wu > 0) cq_mbar_wait(wempty + 8 * wsl, (wu - 1) & 1);  // group G - 2 decoded
                        cq_mbar_expect_tx(wfl, ROWS * 144);
                        cq_tma_load_2d(wbase + wsl * (ROWS * 144), wmap, ((kt0 >> 2) + G) * 144, n0, wfl);
                    }
                }
            } else {
                const cq_u16* xp = xg + (cq_i64)kt * 64;
#pragma unroll
                for (int r = 0; r < BN / XR; ++r, xp += xpass) {
                    const bool ok = (xok >> r) & 1;
                    cq_cp16_zfill_s(slot + xdst + r * XR * 128, ok ? xp : x, ok);
                }
                if ((i & 3) == 0) {
                    const cq_u32 wslot = wbase + ((i >> 2) & 1) * (ROWS * 144);
#pragma unroll
                    for (int j = 0; j < WP; ++j)
                        if (j < WP - 1 || tid + THREADS * j < ROWS * 9)
                            cq_cp16_zfill_s(wslot + wdst[j], wsrc[j] + (cq_i64)(kt >> 2) * 144, (wok >> j) & 1);
                }
            }
        }
        if (!TMA) cq_cp_commit();  // one group a stage, empty past the end
    };

    float acc[ND];
#pragma unroll
    for (int i = 0; i < ND; ++i) acc[i] = 0.0f;
    // This thread's weight rows: 64 x warpgroup (KW = 1) + 16 x warp + g (and + 8).
    const int wrow = (KW == 2 ? 0 : 64 * (warp >> 2)) + 16 * (warp & 3) + g;

    if (!TMA || tid == 0) {
#pragma unroll
        for (int s = 0; s < LEAD; ++s) issue(s);
    }

    // Descriptor of slot 0; the others are whole 1024-byte units on (the
    // address field cannot carry: shared addresses are below 2^18).
    const cq_u64 xdesc0 = cq_wgmma_desc_sw128(sbase);
    cq_u32 a[2][16];  // A registers of two stages: one may still be read by a running wgmma
    auto stage = [&](int i, cq_u32* ar) {  // local stage i
        if (TMA) {
            cq_mbar_wait(xfull + 8 * (i % ST), (i / ST) & 1);  // x of stage i (async proxy, as wgmma)
            if ((i & 3) < KW) cq_mbar_wait(wfull + 8 * ((i >> 2) & 1), (i >> 3) & 1);  // its weights
            if ((KW == 2 ? tid & 127 : tid) == 0) issue(i + LEAD);  // its warpgroup's next stages
        } else {
            cq_cp_wait<ST - 3>();     // this thread's copies of stage i
            cq_fence_proxy_async();   // x copied by cp.async: visible to wgmma's async proxy
            __syncthreads();          // stage i is in; every wgmma of stage i - 2 is done (waited below)
            issue(i + ST - 2);
        }
        const cq_u8* wsm = smem_generic + wbase + ((i >> 2) & 1) * (ROWS * 144) + (i & 3) * 36;
#pragma unroll
        for (int bl = 0; bl < 2; ++bl) {
#pragma unroll
            for (int h = 0; h < 2; ++h) {  // rows g, g + 8
                const cq_u8* r = wsm + (wrow + 8 * h) * 144 + bl * CQ_QB;
                const cq_u32 d = *reinterpret_cast<const cq_u16*>(r);
                const cq_u32 d2 = d | (d << 16);
                const cq_u32 lo = *reinterpret_cast<const cq_u16*>(r + 2 + 2 * t);
                const cq_u32 hi = *reinterpret_cast<const cq_u16*>(r + 10 + 2 * t);
                // q bytes: qs[2t], qs[8 + 2t], qs[2t + 1], qs[9 + 2t]
                const cq_u32 q = __byte_perm(lo, hi, 0x5140), q8 = q >> 8;
                // k16 step 2 bl (values 0-15): a[0] / a[1] rows g / g + 8 at k 2t, a[2] / a[3] at 2t + 8
                ar[8 * bl + h] = cq_deq_pair_f16<false>(q, d2);
                ar[8 * bl + 2 + h] = cq_deq_pair_f16<false>(q8, d2);
                // k16 step 2 bl + 1 (values 16-31): the high nibbles
                ar[8 * bl + 4 + h] = cq_deq_pair_f16<true>(q, d2);
                ar[8 * bl + 6 + h] = cq_deq_pair_f16<true>(q8, d2);
            }
        }
        if (TMA && (i & 3) >= 4 - KW) {  // this warp's last read of the weight slot
            __syncwarp();
            if (lane == 0) cq_mbar_arrive(wempty + 8 * ((i >> 2) & 1));
        }
        cq_wgmma_fence();
        // k16 step s of the slot: 32 bytes on (the descriptor counts 16-byte units)
        const cq_u64 xd = xdesc0 + (cq_u64)(((i % ST) * (BN * 128)) >> 4);
#pragma unroll
        for (int s = 0; s < 4; ++s) cq_wgmma<BN>(acc, ar + 4 * s, xd + 2 * s);
        cq_wgmma_commit();
        cq_wgmma_wait<1>();  // the previous stage's wgmma: its A registers and x slot are free
        if (TMA && i >= KW && lane == 0) cq_mbar_arrive(xempty + 8 * ((i - KW) % ST));
    };
    int i = KW == 2 ? warp >> 2 : 0;
    for (; i + KW < nst; i += 2 * KW) {  // two A register sets, alternating
        stage(i, a[0]);
        stage(i + KW, a[1]);
    }
    if (i < nst) stage(i, a[0]);
    cq_wgmma_wait<0>();
    if (!TMA) cq_cp_wait<0>();
    if (KW == 2) {  // warpgroup 1's sums onto warpgroup 0's, through the x slots
        __syncthreads();  // every wgmma done: no x slot is read or written any more
        float4* const red = reinterpret_cast<float4*>(const_cast<cq_u8*>(smem_generic) + sbase);
        if (warp >= 4) {
#pragma unroll
            for (int e = 0; e < ND / 4; ++e)
                red[e * 128 + (tid & 127)] = make_float4(acc[4 * e], acc[4 * e + 1], acc[4 * e + 2], acc[4 * e + 3]);
        }
        __syncthreads();
        if (warp < 4) {
#pragma unroll
            for (int e = 0; e < ND / 4; ++e) {
                const float4 v = red[e * 128 + tid];
                acc[4 * e] += v.x;
                acc[4 * e + 1] += v.y;
                acc[4 * e + 2] += v.z;
                acc[4 * e + 3] += v.w;
            }
        }
    }
    const bool owner = KW == 1 || warp < 4;  // this thread holds outputs

    // acc[4c + e]: weight row wrow (+ 8 for e >= 2), activation row mx + 8c + 2t (+ 1 for odd e)
    if constexpr (EPI && sizeof(OT) == 2) {  // (no such epilogue for float32 outputs)
        if (n_split == 1) {
            // The tile's outputs y[mx + i][n0 + j] at tile + i * TS + 2 j: in the
            // x slots (after the reduction's floats where there was one); a row
            // is 16 bytes longer than its outputs, so that the 8 rows a stmatrix
            // writes start in different banks.
            constexpr int TS = ROWS * 2 + 16;
            static_assert((KW == 2 ? ND * 128 * 4 : 0) + BN * TS <= CQ_WG_STX(BN, KW) * BN * 128,
                          "the tile fits in the x slots");
            const cq_u32 tile = sbase + (KW == 2 ? ND * 128 * 4 : 0);
            if (KW == 1) __syncthreads();  // every warp's last wgmma done: the x slots are free
            if (owner) {
                const int mi = lane >> 3, mj = lane & 7;  // this lane's address: matrix mi, its column mj
                const cq_u32 dst = tile + (8 * (mi >> 1) + mj) * TS + (wrow - g + 8 * (mi & 1)) * 2;
#pragma unroll
                for (int c = 0; c < BN / 8; c += 2) {
                    // matrices: (c, rows wrow - g ..), (c, + 8 rows), (c + 1, ..), (c + 1, + 8 rows)
                    const cq_u32 r[4] = {cq_pack2(y, acc[4 * c], acc[4 * c + 1]),
                                         cq_pack2(y, acc[4 * c + 2], acc[4 * c + 3]),
                                         cq_pack2(y, acc[4 * c + 4], acc[4 * c + 5]),
                                         cq_pack2(y, acc[4 * c + 6], acc[4 * c + 7])};
                    cq_stmatrix_x4_trans(dst + 8 * c * TS, r);
                }
            }
            __syncthreads();
            // Whole rows of y: 16 bytes a thread where y's rows and address allow.
            constexpr int CPR = ROWS / 8;  // 16-byte pieces a tile row
            const bool vec = ((reinterpret_cast<cq_u64>(y) | ((cq_u64)ldy * 2)) & 15) == 0;
            for (int q = tid; q < BN * CPR; q += THREADS) {
                const int mr = q / CPR, piece = q - mr * CPR;
                const int m = mx + mr, n = n0 + 8 * piece;
                if ((SHIFT && m < m0) || m >= M || n >= N) continue;
                const uint4 v = *reinterpret_cast<const uint4*>(smem_generic + tile + mr * TS + 16 * piece);
                cq_u16* const yp = reinterpret_cast<cq_u16*>(y + (cq_i64)m * ldy + n);
                if (vec && n + 8 <= N) {
                    *reinterpret_cast<uint4*>(yp) = v;
                } else {
                    const cq_u32 wv[4] = {v.x, v.y, v.z, v.w};
                    for (int k = 0; k < 8 && n + k < N; ++k) yp[k] = (cq_u16)(wv[k >> 1] >> (16 * (k & 1)));
                }
            }
            return;
        }
    }
    if (n_split == 1) {
        if (!owner) return;
#pragma unroll
        for (int c = 0; c < BN / 8; ++c) {
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                const int m = mx + 8 * c + 2 * t + (e & 1), n = n0 + wrow + 8 * (e >> 1);
                if ((!SHIFT || m >= m0) && m < M && n < N) cq_store1(y + (cq_i64)m * ldy + n, acc[4 * c + e]);
            }
        }
        return;
    }
    // Split-K: every thread block writes its partial sums to ws[split]; the
    // last of a tile's to arrive adds them up in split order (deterministic).
#pragma unroll
    for (int c = 0; c < BN / 8; ++c) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            const int m = mx + 8 * c + 2 * t + (e & 1), n = n0 + wrow + 8 * (e >> 1);
            if (owner && (!SHIFT || m >= m0) && m < M && n < N) ws[((cq_i64)split * M + m) * N + n] = acc[4 * c + e];
        }
    }
    // Thread 0's counter increment releases the block's workspace writes
    // (ordered before it by the barrier; a release is cumulative) and
    // acquires the other splits'; the barrier after it passes that on to the
    // block (as in the matrix-vector kernels' split-K sum).
    __shared__ int is_last;
    __syncthreads();
    const int tile = blockIdx.y * gridDim.x + blockIdx.x;
    if (tid == 0) is_last = cq_atom_add_acq_rel_gpu(counters + tile, 1) == n_split - 1;
    __syncthreads();
    if (is_last) {
        // Every thread has U4 float4 groups of consecutive n in flight
        // (U elements where N is not a multiple of 4). One element at a time
        // a thread, the sum was the kernel's tail (sessions 14-16: splits on
        // grids of 128 blocks 2x slower, 4096^2 M = 512 38.6 -> 82.3 us).
        if ((N & 3) == 0) {
            constexpr int U4 = CQ_WG_SUM_U4;
#pragma unroll 1
            for (int p0 = 4 * tid; p0 < BN * ROWS; p0 += 4 * U4 * THREADS) {
                float4 v[U4];
#pragma unroll
                for (int u = 0; u < U4; ++u) v[u] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
                for (int sp = 0; sp < n_split; ++sp) {
#pragma unroll
                    for (int u = 0; u < U4; ++u) {
                        const int p = p0 + 4 * u * THREADS, m = m0 + p / ROWS, n = n0 + p % ROWS;
                        if (m < M && n < N) {  // n + 3 < N too
                            const float4 a = cq_ld_cg4(ws + ((cq_i64)sp * M + m) * N + n);
                            v[u].x += a.x;
                            v[u].y += a.y;
                            v[u].z += a.z;
                            v[u].w += a.w;
                        }
                    }
                }
#pragma unroll
                for (int u = 0; u < U4; ++u) {
                    const int p = p0 + 4 * u * THREADS, m = m0 + p / ROWS, n = n0 + p % ROWS;
                    if (m < M && n < N) {
                        OT* const yp = y + (cq_i64)m * ldy + n;
                        cq_store1(yp, v[u].x);
                        cq_store1(yp + 1, v[u].y);
                        cq_store1(yp + 2, v[u].z);
                        cq_store1(yp + 3, v[u].w);
                    }
                }
            }
        } else {
            constexpr int U = 8;
#pragma unroll 1
            for (int p0 = tid; p0 < BN * ROWS; p0 += U * THREADS) {
                float v[U];
#pragma unroll
                for (int u = 0; u < U; ++u) v[u] = 0.0f;
                for (int sp = 0; sp < n_split; ++sp) {
#pragma unroll
                    for (int u = 0; u < U; ++u) {
                        const int p = p0 + u * THREADS, m = m0 + p / ROWS, n = n0 + p % ROWS;
                        if (m < M && n < N) v[u] += cq_ld_cg(ws + ((cq_i64)sp * M + m) * N + n);
                    }
                }
#pragma unroll
                for (int u = 0; u < U; ++u) {
                    const int p = p0 + u * THREADS, m = m0 + p / ROWS, n = n0 + p % ROWS;
                    if (m < M && n < N) cq_store1(y + (cq_i64)m * ldy + n, v[u]);
                }
            }
        }
        if (tid == 0) counters[tile] = 0;  // ready for the next launch on this stream
    }
#endif
}

// 64- and 128-activation-row thread blocks of 128 weight rows: two an SM (at
// most 128 registers a thread); 256 activation rows: one. ROWS = 64 (kernel
// names ending _r64 for one warpgroup, _r64x2 for two taking turns over K):
// one an SM, their x rings' 128 / 192 KiB.
#define CQ_MM_WGMMA_BLOCKS(BN, ROWS) ((BN) <= 128 && (ROWS) == 128 ? 2 : 1)
#define CQ_MM_WGMMA_KERNEL_CP(SUF, OT, BN, ROWS, WGS, RSUF)                                                 \
    extern "C" __global__ void __launch_bounds__(128 * (WGS), CQ_MM_WGMMA_BLOCKS(BN, ROWS))                 \
    cq_q4_0_mm_wgmma_##SUF##_n##BN##RSUF(const cq_u8* __restrict__ w, cq_i64 row_bytes, int N, int nb,      \
                                         const cq_u16* __restrict__ x, cq_i64 ldx, int M,                   \
                                         OT* __restrict__ y, cq_i64 ldy, int stages_per_split,               \
                                         float* __restrict__ ws, int* __restrict__ counters) {              \
        cq_mm_wgmma<OT, BN, false, ROWS, WGS>(w, row_bytes, N, nb, x, ldx, M, y, ldy, stages_per_split, ws, \
                                              counters, nullptr, nullptr);                                  \
    }
#define CQ_MM_WGMMA_KERNEL_TMA(SUF, OT, BN, ROWS, WGS, RSUF)                                                \
    extern "C" __global__ void __launch_bounds__(128 * (WGS), CQ_MM_WGMMA_BLOCKS(BN, ROWS))                 \
    cq_q4_0_mm_wgmma_tma_##SUF##_n##BN##RSUF(const CQ_GRID_CONSTANT cq_tensor_map xmap,                     \
                                             const CQ_GRID_CONSTANT cq_tensor_map wmap,                     \
                                             const cq_u8* __restrict__ w, cq_i64 row_bytes, int N, int nb,  \
                                             const cq_u16* __restrict__ x, cq_i64 ldx, int M,               \
                                             OT* __restrict__ y, cq_i64 ldy, int stages_per_split,           \
                                             float* __restrict__ ws, int* __restrict__ counters) {          \
        cq_mm_wgmma<OT, BN, true, ROWS, WGS>(w, row_bytes, N, nb, x, ldx, M, y, ldy, stages_per_split, ws,  \
                                             counters, &xmap, &wmap);                                       \
    }
#define CQ_MM_WGMMA_KERNEL(SUF, OT, BN)                    \
    CQ_MM_WGMMA_KERNEL_CP(SUF, OT, BN, 128, 2, )           \
    CQ_MM_WGMMA_KERNEL_TMA(SUF, OT, BN, 128, 2, )
// (turns over K need the TMA's mbarriers: no cp.async kernel for _r64x2)
#define CQ_MM_WGMMA_KERNELS(SUF, OT)                       \
    CQ_MM_WGMMA_KERNEL(SUF, OT, 64)                        \
    CQ_MM_WGMMA_KERNEL(SUF, OT, 128)                       \
    CQ_MM_WGMMA_KERNEL(SUF, OT, 256)                       \
    CQ_MM_WGMMA_KERNEL_CP(SUF, OT, 256, 64, 1, _r64)       \
    CQ_MM_WGMMA_KERNEL_TMA(SUF, OT, 256, 64, 1, _r64)      \
    CQ_MM_WGMMA_KERNEL_TMA(SUF, OT, 256, 64, 2, _r64x2)
CQ_MM_WGMMA_KERNELS(f32, float)
CQ_MM_WGMMA_KERNELS(f16, cq_f16)
CQ_MM_WGMMA_KERNELS(bf16, cq_bf16)

// flag[0] = 1 where the kernels above were compiled with wgmma (sm_90a), else 0.
extern "C" __global__ void cq_q4_0_sm90a_compiled(int* flag) {
#if defined(CQ_SM90A)
    flag[0] = 1;
#else
    flag[0] = 0;
#endif
}
