// cupyquant: portable helpers shared by every kernel.
//
// The same text is compiled by hiprtc (CuPy's ROCm build) and by NVRTC (CuPy's
// CUDA build). It includes no header: hiprtc pre-includes the HIP runtime and
// fp16 headers (including them again is an error), and NVRTC needs none of
// what is used here. Integer types are our own for the same reason.

#if defined(__HIPCC_RTC__) || defined(__HIP_PLATFORM_AMD__) || defined(__HIPCC__)
#define CQ_HIP 1
// NumPy (the reference) multiplies, then adds: a fused multiply-add would
// change the last bit. Contraction is off for every kernel of this file.
#pragma clang fp contract(off)
#else
#define CQ_CUDA 1
#endif

typedef unsigned char cq_u8;
typedef signed char cq_i8;
typedef unsigned short cq_u16;
typedef unsigned int cq_u32;
typedef long long cq_i64;
typedef unsigned long long cq_u64;

// ---------------------------------------------------------------- wave size
// Decided at compile time: AMD GCN/CDNA (gfx8, gfx9: the compiler defines
// __GFX8__/__GFX9__) run 64 lanes; NVIDIA and AMD RDNA run 32.
#if defined(CQ_HIP) && (defined(__GFX9__) || defined(__GFX8__))
#define CQ_WARP_SIZE 64
#else
#define CQ_WARP_SIZE 32
#endif

#if defined(CQ_HIP)
#define CQ_SHFL_XOR(v, m) __shfl_xor((v), (m), CQ_WARP_SIZE)
#else
#define CQ_SHFL_XOR(v, m) __shfl_xor_sync(0xffffffffu, (v), (m), CQ_WARP_SIZE)
#endif

#if defined(CQ_HIP)
#define CQ_SHFL(v, src) __shfl((v), (src), CQ_WARP_SIZE)
#else
#define CQ_SHFL(v, src) __shfl_sync(0xffffffffu, (v), (src), CQ_WARP_SIZE)
#endif

// Sum over one warp/wavefront, whatever its width.
__device__ __forceinline__ float cq_warp_sum(float v) {
#pragma unroll
    for (int m = CQ_WARP_SIZE / 2; m > 0; m >>= 1) v += CQ_SHFL_XOR(v, m);
    return v;
}

// ------------------------------------------ programmatic dependent launch
// The dequantization and tensor-core matrix-vector kernels start with
// CQ_GRID_DEPENDENCY() or CQ_GRID_WAIT(); only kernels that do may be launched
// with the programmatic-stream-serialization attribute (cupyquant/gpu/launch.py,
// NVIDIA sm_90+). Such a launch may be scheduled while the previous kernel of
// its stream is still running: "launch_dependents" lets the next kernel's
// thread blocks take the multiprocessors this grid leaves during its tail, and
// "wait" holds this thread block until the previous grid has completed and its
// memory writes are visible. Nothing is read or written before the wait, so
// the result is the same as with plain stream order; what overlaps is only the
// launch and the thread blocks' start. Without the attribute both are no-ops;
// before sm_90 and on AMD the macros are empty.
// CQ_GRID_WAIT() alone (no early "launch_dependents": the next grid is
// scheduled as this one's thread blocks exit) is for grids that do not fill
// the GPU, where thread blocks scheduled early would crowd onto the SMs that
// had free slots first.
#if defined(CQ_CUDA) && defined(__CUDA_ARCH__) && (__CUDA_ARCH__ >= 900)
#define CQ_GRID_WAIT() asm volatile("griddepcontrol.wait;" ::: "memory")
#define CQ_GRID_DEPENDENCY() asm volatile("griddepcontrol.launch_dependents;\n\tgriddepcontrol.wait;" ::: "memory")
#define CQ_GRID_LAUNCH_DEPENDENTS() asm volatile("griddepcontrol.launch_dependents;" ::: "memory")
#else
#define CQ_GRID_WAIT() ((void)0)
#define CQ_GRID_DEPENDENCY() ((void)0)
#define CQ_GRID_LAUNCH_DEPENDENTS() ((void)0)
#endif

// ------------------------------------------------------------ L2 prefetch
// Ask the L2 cache for the bytes [p, p + nbytes) that a later thread block
// will read, every thread of the block issuing a share of the requests (one a
// CQ_L2_LINE-byte line, at an address inside the range): a hint, nothing
// waits for it, and the results are the same whether or not it arrives in
// time. On NVIDIA only (prefetch.global.L2); elsewhere nothing is issued.
#define CQ_L2_LINE 128
__device__ __forceinline__ void cq_prefetch_l2(const void* p, cq_i64 nbytes, int tid, int nthreads) {
#if defined(CQ_CUDA)
    const char* first = static_cast<const char*>(p);
    const cq_i64 lead = (cq_i64)(reinterpret_cast<cq_u64>(p) % CQ_L2_LINE);
    const char* line0 = first - lead;  // line k is touched at max(p, line0 + k * CQ_L2_LINE)
    for (cq_i64 k = tid; k * CQ_L2_LINE < nbytes + lead; k += nthreads)
        asm volatile("prefetch.global.L2 [%0];" ::"l"(k == 0 ? first : line0 + k * CQ_L2_LINE));
#else
    (void)p; (void)nbytes; (void)tid; (void)nthreads;
#endif
}

// ------------------------------------------------- exact float32 arithmetic
// Round-to-nearest operations the compiler may not fuse into an FMA.
// On NVIDIA they are explicit PTX without the .ftz modifier: CuPy compiles
// every RawModule with -ftz=true appended after the caller's options (so it
// cannot be overridden), which would flush subnormal results to zero; NumPy
// keeps them (MXFP4's smallest scales are subnormal).
#if defined(CQ_CUDA)
__device__ __forceinline__ float cq_mul_ieee(float a, float b) {
    float r;
    asm("mul.rn.f32 %0, %1, %2;" : "=f"(r) : "f"(a), "f"(b));
    return r;
}
__device__ __forceinline__ float cq_add_ieee(float a, float b) {
    float r;
    asm("add.rn.f32 %0, %1, %2;" : "=f"(r) : "f"(a), "f"(b));
    return r;
}
__device__ __forceinline__ float cq_sub_ieee(float a, float b) {
    float r;
    asm("sub.rn.f32 %0, %1, %2;" : "=f"(r) : "f"(a), "f"(b));
    return r;
}
#define CQ_MUL(a, b) cq_mul_ieee((float)(a), (float)(b))
#define CQ_ADD(a, b) cq_add_ieee((float)(a), (float)(b))
#define CQ_SUB(a, b) cq_sub_ieee((float)(a), (float)(b))
#else
#define CQ_MUL(a, b) ((float)(a) * (float)(b))
#define CQ_ADD(a, b) ((float)(a) + (float)(b))
#define CQ_SUB(a, b) ((float)(a) - (float)(b))
#endif

// ------------------------------------------------------------ byte permute
// Byte n of the result is byte (s >> 4n) & 7 of the 8 bytes b:a (a first),
// for selector nibbles below 8. CUDA's __byte_perm masks the selector with
// 0x7777 first (one more instruction); callers here never set bit 3.
__device__ __forceinline__ cq_u32 cq_prmt(cq_u32 a, cq_u32 b, cq_u32 s) {
#if defined(CQ_CUDA)
    cq_u32 r;
    asm("prmt.b32 %0, %1, %2, %3;" : "=r"(r) : "r"(a), "r"(b), "r"(s));
    return r;
#else
    // v_perm_b32 (gfx8 and later): byte n of the result is byte sel[8n+7:8n]
    // of the 8 bytes {S0, S1}, S1 the low word; CUDA's selector has one
    // nibble a byte, spread here (a constant selector folds). HIP's own
    // __byte_perm (ROCm 5.2's header) indexes a local byte array, which a
    // selector known only at run time (TQ1_0's digits) put in scratch memory
    // (16 bytes a work-item on gfx90a; tests/test_compile.py checks that no
    // kernel uses scratch).
    const cq_u32 sel = (s & 0xFu) | ((s & 0xF0u) << 4) | ((s & 0xF00u) << 8) | ((s & 0xF000u) << 12);
    return __builtin_amdgcn_perm(b, a, sel);
#endif
}

// ------------------------------------------------- small integers to float
// float(q) for |q| < 2^22, exactly, without an int -> float conversion: q
// placed in the mantissa of 1.5 * 2^23 (CQ_I2F_BITS) is the float
// 1.5 * 2^23 + q, and subtracting 1.5 * 2^23 (CQ_I2F_BIAS) leaves q; an
// integer add and a float add, both full-rate on NVIDIA, where conversions
// run at 16 a clock per SM. Measured on the H200 (notes/h200_2026-12-01) this
// alone changed nothing; cq_code_to_float builds on the same constants, where
// one byte permute does the placing. AMD keeps the plain cast.
// -DCQ_FAST_I2F=0 turns both off (for A/B timing).
#ifndef CQ_FAST_I2F
#define CQ_FAST_I2F 1
#endif
#define CQ_I2F_BITS 0x4B400000u
#define CQ_I2F_BIAS 12582912.0f
__device__ __forceinline__ float cq_i2f(int q) {
#if CQ_FAST_I2F && defined(CQ_CUDA)
    return __uint_as_float(CQ_I2F_BITS + (cq_u32)q) - CQ_I2F_BIAS;
#else
    return (float)q;
#endif
}

// ------------------------------------------------------ half and bfloat16
#if defined(CQ_HIP)
__device__ __forceinline__ float cq_half_to_float(cq_u16 h) {
    union { cq_u16 u; _Float16 f; } c;
    c.u = h;
    return (float)c.f;
}
__device__ __forceinline__ cq_u16 cq_float_to_half(float f) {
    union { cq_u16 u; _Float16 h; } c;
    c.h = (_Float16)f;  // round to nearest-even
    return c.u;
}
#else
__device__ __forceinline__ float cq_half_to_float(cq_u16 h) {
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
    return f;
}
__device__ __forceinline__ cq_u16 cq_float_to_half(float f) {
    cq_u16 h;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f));
    return h;
}
#endif

// Two float32 -> float16 (nearest-even) in one instruction on NVIDIA, packed
// as lo | hi << 16. -DCQ_PACK_F16X2=0 converts one at a time (A/B timing).
#ifndef CQ_PACK_F16X2
#define CQ_PACK_F16X2 1
#endif
__device__ __forceinline__ cq_u32 cq_float2_to_half2(float lo, float hi) {
#if CQ_PACK_F16X2 && defined(CQ_CUDA)
    cq_u32 r;
    asm("cvt.rn.f16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
    return r;
#else
    return (cq_u32)cq_float_to_half(lo) | ((cq_u32)cq_float_to_half(hi) << 16);
#endif
}

// float32 -> bfloat16, round to nearest-even, NaN kept NaN (quiet). NVIDIA
// sm_80+ has the conversion in hardware (its NaN is the canonical 0x7FFF, a
// NaN all the same); elsewhere it is integer arithmetic, which made bfloat16
// output 0.66-0.74 of the copy for MXFP4 and Q6_K on the H200 against
// 0.88-0.92 for float16 (notes/h200_s9/probe_dq_ab_bf16.txt).
#if defined(CQ_CUDA) && defined(__CUDA_ARCH__) && (__CUDA_ARCH__ >= 800)
#define CQ_HW_BF16 1
#endif
__device__ __forceinline__ cq_u16 cq_float_to_bf16(float f) {
#if defined(CQ_HW_BF16)
    cq_u16 h;
    asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(h) : "f"(f));
    return h;
#else
    cq_u32 u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (cq_u16)((u >> 16) | 0x40u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (cq_u16)(u >> 16);
#endif
}

// ------------------------------------------ little-endian loads, any alignment
// Blocks are 17, 18, 22, ... bytes long: nothing inside them is aligned.
__device__ __forceinline__ cq_u16 cq_load_u16(const cq_u8* p) {
    return (cq_u16)(p[0] | (p[1] << 8));
}
__device__ __forceinline__ cq_u32 cq_load_u32(const cq_u8* p) {
    return (cq_u32)p[0] | ((cq_u32)p[1] << 8) | ((cq_u32)p[2] << 16) | ((cq_u32)p[3] << 24);
}
__device__ __forceinline__ float cq_load_half(const cq_u8* p) {
    return cq_half_to_float(cq_load_u16(p));
}

// ------------------------------------------ fields of a block staged in shared memory
// The skeleton stages every tile 16-byte aligned, so a field at byte offset
// `off` of a block starts at a multiple of the largest power of two (at most
// 8) dividing both type_size and off: CQ_FIELD_ALIGN. Whole words are then
// loaded at once instead of byte by byte (the float16 paths are bound by
// instruction issue, not by memory).
#define CQ_FIELD_ALIGN(type_size, off) (((type_size) | (off) | 8) & -((type_size) | (off) | 8))

// 8 consecutive bytes at p (a multiple of A) as two little-endian words.
template <int A>
__device__ __forceinline__ uint2 cq_load8(const cq_u8* p) {
    if constexpr (A >= 8) {
        return *reinterpret_cast<const uint2*>(p);
    } else if constexpr (A == 4) {
        const cq_u32* w = reinterpret_cast<const cq_u32*>(p);
        return make_uint2(w[0], w[1]);
    } else if constexpr (A == 2) {
        const cq_u16* h = reinterpret_cast<const cq_u16*>(p);
        return make_uint2((cq_u32)h[0] | ((cq_u32)h[1] << 16), (cq_u32)h[2] | ((cq_u32)h[3] << 16));
    } else {
        // Byte-aligned (MXFP4's 17-byte blocks): the three aligned words that
        // cover the 8 bytes, funnel-shifted (5 instructions instead of 8 byte
        // loads and their merges). May read up to 3 bytes past p + 8: the
        // skeleton's stage has 16 bytes of slack at its end.
        const int sh = (int)((cq_u64)p & 3u);
        const cq_u32* w = reinterpret_cast<const cq_u32*>(p - sh);
        const cq_u32 w0 = w[0], w1 = w[1], w2 = w[2];
        return make_uint2(__funnelshift_r(w0, w1, 8 * sh), __funnelshift_r(w1, w2, 8 * sh));
    }
}

// The little-endian 16-bit word, and the float16, at p (a multiple of A).
template <int A>
__device__ __forceinline__ cq_u16 cq_load_u16_at(const cq_u8* p) {
    if constexpr (A >= 2) {
        return *reinterpret_cast<const cq_u16*>(p);
    } else {
        return cq_load_u16(p);
    }
}
template <int A>
__device__ __forceinline__ float cq_load_half_at(const cq_u8* p) {
    return cq_half_to_float(cq_load_u16_at<A>(p));
}

// Words whose bytes are small codes: (w >> shift) & mask, per word.
__device__ __forceinline__ uint2 cq_bits8(uint2 w, int shift, cq_u32 mask) {
    return make_uint2((w.x >> shift) & mask, (w.y >> shift) & mask);
}

// Codes whose low bits are in lo and high bits in hi (one code a byte):
// lo | hi << shift, per word.
__device__ __forceinline__ uint2 cq_join8(uint2 lo, uint2 hi, int shift) {
    return make_uint2(lo.x | (hi.x << shift), lo.y | (hi.y << shift));
}

// float(byte i of w) - bias, exactly (i: 0..7 over the pair, a constant after
// unrolling; bias a small integer). With CQ_FAST_I2F on NVIDIA one byte
// permute builds the float 1.5 * 2^23 + byte (see cq_i2f) and one add removes
// 1.5 * 2^23 + bias: two full-rate instructions per value.
__device__ __forceinline__ float cq_code_to_float(uint2 w, int i, int bias) {
    const cq_u32 word = i < 4 ? w.x : w.y;
#if CQ_FAST_I2F && defined(CQ_CUDA)
    return __uint_as_float(__byte_perm(word, CQ_I2F_BITS, 0x7650u | (i & 3))) - (CQ_I2F_BIAS + (float)bias);
#else
    return (float)((int)((word >> (8 * (i & 3))) & 0xffu) - bias);
#endif
}

// Byte i (0..7) of the pair, as an integer (table indices).
__device__ __forceinline__ cq_u32 cq_byte8(uint2 w, int i) {
    return ((i < 4 ? w.x : w.y) >> (8 * (i & 3))) & 0xffu;
}

// Bits 0..7 of b spread to bit 0 of the 8 bytes of a pair (bit i -> byte i):
// each nibble times 0x00204081 puts its bits 7 apart, which lands bit j on
// bit 8j; the mask keeps those.
__device__ __forceinline__ uint2 cq_spread_bits8(cq_u32 b) {
    return make_uint2(((b & 15u) * 0x00204081u) & 0x01010101u,
                      (((b >> 4) & 15u) * 0x00204081u) & 0x01010101u);
}

// The 4-bit codes of values [8*sub, 8*sub + 8) in the Q4_0 layout (shared by
// Q4_1, Q5_0, Q5_1 and the 4-bit codebook formats), one code a byte: value
// j < 16 is the low nibble of qs[j], value j >= 16 the high nibble of qs[j - 16].
template <int A>
__device__ __forceinline__ uint2 cq_q4_codes8(const cq_u8* qs, int sub) {
    return cq_bits8(cq_load8<A>(qs + (sub & 1) * 8), (sub >> 1) * 4, 0x0F0F0F0Fu);
}

// ------------------------------------------------------------ output stores
struct cq_f16 { cq_u16 bits; };   // float16 output element
struct cq_bf16 { cq_u16 bits; };  // bfloat16 output element

__device__ __forceinline__ bool cq_aligned16(const void* p) {
    return (((cq_u64)p) & 15u) == 0;
}

// A 16-byte store of output that is written once and not read back by this
// kernel: the cache is told so (evict-first; measured a little faster on the
// H100 for every format). -DCQ_STREAMING_STORES=0 turns it off.
#ifndef CQ_STREAMING_STORES
#define CQ_STREAMING_STORES 1
#endif
template <class V>
__device__ __forceinline__ void cq_store16(V* p, V v) {
#if CQ_STREAMING_STORES && defined(CQ_CUDA)
    __stcs(p, v);
#elif CQ_STREAMING_STORES && defined(CQ_HIP)
    __builtin_nontemporal_store(v.data, &p->data);  // HIP vector types wrap a native vector
#else
    *p = v;
#endif
}

// Write v[0..valid) (valid >= 1) to p; 8 values at once when possible.
__device__ __forceinline__ void cq_store8(float* p, const float* v, int valid) {
    if (valid >= 8 && cq_aligned16(p)) {
        cq_store16(reinterpret_cast<float4*>(p), make_float4(v[0], v[1], v[2], v[3]));
        cq_store16(reinterpret_cast<float4*>(p) + 1, make_float4(v[4], v[5], v[6], v[7]));
    } else {
        for (int i = 0; i < 8 && i < valid; ++i) p[i] = v[i];
    }
}

__device__ __forceinline__ cq_u32 cq_float2_to_bf16x2(float lo, float hi) {
#if defined(CQ_HW_BF16)
    cq_u32 r;
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
    return r;
#else
    return (cq_u32)cq_float_to_bf16(lo) | ((cq_u32)cq_float_to_bf16(hi) << 16);
#endif
}

template <cq_u32 (*CONVERT2)(float, float), class T>
__device__ __forceinline__ void cq_store8_u16(T* p, const float* v, int valid) {
    cq_u32 w[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) w[i] = CONVERT2(v[2 * i], v[2 * i + 1]);
    if (valid >= 8 && cq_aligned16(p)) {
        cq_store16(reinterpret_cast<uint4*>(p), make_uint4(w[0], w[1], w[2], w[3]));
    } else {
        for (int i = 0; i < 8 && i < valid; ++i) p[i].bits = (cq_u16)(w[i >> 1] >> (16 * (i & 1)));
    }
}
__device__ __forceinline__ void cq_store8(cq_f16* p, const float* v, int valid) {
    cq_store8_u16<cq_float2_to_half2>(p, v, valid);
}
__device__ __forceinline__ void cq_store8(cq_bf16* p, const float* v, int valid) {
    cq_store8_u16<cq_float2_to_bf16x2>(p, v, valid);
}

// Stores of a whole warp whose lanes hold consecutive groups of 8 values:
// lane l holds values [8l, 8l+8) of the warp's span starting at warp_dst
// (16-byte aligned). Every store instruction then covers one contiguous range.
// For float32 a lane's 8 values are 32 bytes, so lanes first swap halves with
// shuffles: store k writes float4 number k*W + l, half (l & 1) of the values of
// lane (k*W + l) / 2. All lanes of the warp must be active. Storing each lane's
// two float4 as they are (every store half of each 32-byte sector) ran at
// 0.46-0.61 of the copy against 0.87-0.91 (H200, notes/h200_s11/run6).
__device__ __forceinline__ void cq_store8_warp(float* warp_dst, const float* v, int lane) {
    const int half = lane & 1;
#pragma unroll
    for (int k = 0; k < 2; ++k) {
        const int src = (k * CQ_WARP_SIZE + lane) >> 1;
        float o[4];
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            const float a = CQ_SHFL(v[i], src);
            const float b = CQ_SHFL(v[4 + i], src);
            o[i] = half ? b : a;
        }
        cq_store16(reinterpret_cast<float4*>(warp_dst) + k * CQ_WARP_SIZE + lane,
                   make_float4(o[0], o[1], o[2], o[3]));
    }
}
// 16-bit outputs: a lane's 8 values are 16 bytes, already contiguous (and
// aligned: no run-time check, unlike cq_store8).
template <cq_u32 (*CONVERT2)(float, float), class T>
__device__ __forceinline__ void cq_store8_u16_aligned(T* p, const float* v) {
    cq_store16(reinterpret_cast<uint4*>(p), make_uint4(CONVERT2(v[0], v[1]), CONVERT2(v[2], v[3]),
                                                       CONVERT2(v[4], v[5]), CONVERT2(v[6], v[7])));
}
__device__ __forceinline__ void cq_store8_warp(cq_f16* warp_dst, const float* v, int lane) {
    cq_store8_u16_aligned<cq_float2_to_half2>(warp_dst + 8 * lane, v);
}
__device__ __forceinline__ void cq_store8_warp(cq_bf16* warp_dst, const float* v, int lane) {
    cq_store8_u16_aligned<cq_float2_to_bf16x2>(warp_dst + 8 * lane, v);
}

// ------------------------------------------------- the dequantization skeleton
// A format is a struct
//     struct Decoder_NAME {
//         static constexpr int block_size = ...;  // elements per block
//         static constexpr int type_size = ...;   // bytes per block
//         // the 8 consecutive values [8*sub, 8*sub + 8) of the block at blk
//         __device__ static void decode8(const cq_u8* blk, int sub, const void* tables, float* v);
//     };
// For the plain float types block_size is 1 and decode8 reads 8 consecutive
// elements (sub is 0). CQ_DEQUANT_KERNELS(tag, Decoder_NAME) instantiates its
// kernels. Each thread block stages a tile of whole blocks in shared memory
// with coalesced 16-byte loads (blocks are not aligned in memory), then each
// thread decodes CQ_UNROLL groups of 8 values and writes each group with one
// or two 16-byte stores. All of a tile's loads are issued before the first
// is used, so that enough bytes are in flight to reach memory bandwidth.
// On NVIDIA each warp stages and decodes its own slice of a full tile (warp
// tiles), synchronising with warp barriers only.
#define CQ_THREADS 256
// Warp tiles (see cq_dequant_tiles): NVIDIA only. On the H200 (notes/h200_s11,
// run 2) float16 output of Q3_K 0.90 -> 0.92 of the copy, Q5_K 0.90 -> 0.93,
// TQ1_0 0.89 -> 0.91, F32 -> float32 0.93 -> 0.97, the rest within +-0.01.
// -DCQ_WARP_TILES=0 turns them off (A/B timing).
#ifndef CQ_WARP_TILES
#define CQ_WARP_TILES 1
#endif
#if defined(CQ_CUDA) && CQ_WARP_TILES
#define CQ_WARP_TILES_ON true
#define CQ_SYNC_WARP() __syncwarp()
#else
#define CQ_WARP_TILES_ON false
#define CQ_SYNC_WARP() __syncthreads()
#endif
// Groups of 8 values a thread decodes per tile: as many as keep a tile's
// staged bytes under CQ_TILE_BYTES_MAX (at most 8), so that even formats with
// few bytes per value have enough loads in flight. Mirrored by
// cupyquant/gpu/dequant.py (tile_elems).
#ifndef CQ_TILE_BYTES_MAX
#define CQ_TILE_BYTES_MAX 16384
#endif
#ifndef CQ_UNROLL_MAX
#define CQ_UNROLL_MAX 8
#endif

template <bool B> struct cq_bool { static constexpr bool value = B; };

template <class D>
struct cq_tile {
    static constexpr int bytes_u1 = CQ_THREADS * 8 / D::block_size * D::type_size;
    static constexpr int fit = CQ_TILE_BYTES_MAX / bytes_u1;
    static constexpr int unroll = fit < 1 ? 1 : (fit > CQ_UNROLL_MAX ? CQ_UNROLL_MAX : fit);
    static constexpr int elems = CQ_THREADS * 8 * unroll;
    static constexpr int bytes = bytes_u1 * unroll;
};

// Optional decoder members: TRAIT<D>::value is D::MEMBER where the decoder
// declares it, else DEFAULT. The members and their meaning follow.
#define CQ_DECODER_TRAIT(TRAIT, MEMBER, TYPE, DEFAULT)                                        \
    template <class D, class = void>                                                          \
    struct TRAIT { static constexpr TYPE value = DEFAULT; };                                  \
    template <class D>                                                                        \
    struct TRAIT<D, decltype(void(D::MEMBER))> { static constexpr TYPE value = D::MEMBER; };

// A decoder may declare `static constexpr int shared_table_bytes` (a multiple
// of 16): its tables are then copied into shared memory once per thread block
// and decode8 gets that copy (a lookup per value from shared memory instead of
// the L1 cache: fewer cycles at the load unit for the 16-entry codebooks).
CQ_DECODER_TRAIT(cq_shared_table, shared_table_bytes, int, 0)

// Optional per-decoder tuning (measured on the H200, see notes/):
//   static constexpr int min_blocks: thread blocks per SM the NVIDIA compiler
//     must fit, capping registers to match (default CQ_MIN_BLOCKS_DEFAULT, 4:
//     at most 64 registers; 0: the compiler's own choice, which with warp
//     tiles went up to 119 registers, 2 thread blocks an SM);
//   static constexpr int decode_unroll: groups of 8 a thread decodes
//     interleaved (default: all of the tile's, fully unrolled). Fewer groups
//     in flight need fewer registers.
// Formats whose full unroll needs many registers run faster with 2 and 4.
// CQ_TUNE_MIN_BLOCKS / CQ_TUNE_DECODE_UNROLL (-D options) override both for
// every decoder of a module: for tuning sweeps only.
#ifndef CQ_MIN_BLOCKS_DEFAULT
#define CQ_MIN_BLOCKS_DEFAULT 4
#endif
CQ_DECODER_TRAIT(cq_min_blocks, min_blocks, int, CQ_MIN_BLOCKS_DEFAULT)
CQ_DECODER_TRAIT(cq_decode_unroll, decode_unroll, int, CQ_UNROLL_MAX)
#if defined(CQ_TUNE_MIN_BLOCKS)
#define CQ_MIN_BLOCKS_OF(D) CQ_TUNE_MIN_BLOCKS
#else
#define CQ_MIN_BLOCKS_OF(D) cq_min_blocks<D>::value
#endif
#if defined(CQ_TUNE_DECODE_UNROLL)
#define CQ_DECODE_UNROLL_OF(D) CQ_TUNE_DECODE_UNROLL
#else
#define CQ_DECODE_UNROLL_OF(D) cq_decode_unroll<D>::value
#endif

// Optional scales shared by groups of values (the K-quants' sub-block scales):
//   static constexpr int scale_groups;                       // groups per block
//   __device__ static float2 group_scale(const cq_u8* blk, int group);
//   __device__ static void decode8_scaled(const cq_u8* blk, int sub, float2 scale, float* v);
// replace decode8. Every group's scale is computed once per tile, by one
// thread, right after the tile is staged, and read back from shared memory;
// decoding a group of 8 values inline would repeat it for every group of 8
// that shares it (4 or 2 times), and the float16 kernels are bound by
// instruction issue. The arithmetic is the same, so results are unchanged.
CQ_DECODER_TRAIT(cq_scale_groups, scale_groups, int, 0)

// Optional direct 16-bit output, for formats whose values in a group take a
// few distinct values (the ternary formats: d * {-1, 0, 1}):
//   static constexpr bool direct16 = true;
//   template <cq_u16 (*CONV)(float)>
//   __device__ static void decode8_16(const cq_u8* blk, int sub, cq_u32* w);
// writes the 8 values as float16 / bfloat16 bits (CONV: float -> bits), two a
// word, low half first. It must equal CONV of decode8's floats bit for bit
// (e.g. convert each distinct float once and pick the bits with byte
// permutes): the float16 fast path then skips a multiply and a conversion a
// value. Only the aligned fast path uses it; decode8 is still required.
CQ_DECODER_TRAIT(cq_direct16, direct16, bool, false)
template <class Out> struct cq_conv16;
template <> struct cq_conv16<cq_f16> { static constexpr cq_u16 (*fn)(float) = cq_float_to_half; };
template <> struct cq_conv16<cq_bf16> { static constexpr cq_u16 (*fn)(float) = cq_float_to_bf16; };

// A load of a flag that a thread block of the same grid sets after its
// __threadfence(), with acquire semantics at device scope: later memory
// operations of this thread stay after it. Unlike __threadfence() after a
// plain load it does not wait for this thread's earlier loads (the next
// tile's, in flight).
__device__ __forceinline__ cq_u32 cq_load_acquire(const cq_u32* p) {
#if defined(CQ_CUDA) && (!defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 700)
    cq_u32 v;
    asm volatile("ld.acquire.gpu.global.u32 %0, [%1];" : "=r"(v) : "l"(p) : "memory");
    return v;
#elif defined(CQ_CUDA)
    const cq_u32 v = *(const volatile cq_u32*)p;
    __threadfence();
    return v;
#else
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
#endif
}

// In-place schedule (sync not null): the quantized bytes lie inside the
// output's own allocation, at least (output bytes - input bytes) a block
// above dst (gpu/inplace.py), so that a tile's stores can only overwrite the
// input of that tile or of earlier ones. Thread blocks take tiles in order
// from a ticket counter (sync[0]); once a tile's input is staged in shared
// memory its flag (sync[3 + tile]) is set to this launch's mark, and before a
// tile's stores the thread block waits for the flags of the earlier tiles
// whose input those stores overwrite. A tile only waits for tiles whose
// tickets were taken before its own, by running thread blocks that stage
// before they wait: no cycle, whatever the residency. The mark is the last
// launch's (sync[2]) plus one, so flags left by earlier launches never
// match; the last thread block to leave stores it there and sets the two
// counters back to 0 for the next launch (on the device, so that a captured
// graph replays correctly). sync must hold 3 + (tiles) words, zeroed once,
// and serve one launch at a time. (src and dst may overlap, so neither is
// declared __restrict__.)
struct cq_inplace {
    cq_u32* sync;
    cq_u32 mark;  // set by begin()
    __device__ bool on() const { return sync != nullptr; }
    // The next tile of this thread block (all threads call it; one barrier).
    __device__ cq_i64 take(cq_i64* slot) const {
        if (threadIdx.x == 0) *slot = (cq_i64)atomicAdd(&sync[0], 1u);
        __syncthreads();
        return *slot;
    }
    // The thread block's first tile, and the launch's mark: both read by one
    // thread and handed to the others through shared memory (all threads
    // call it; take()'s barrier publishes the mark too).
    __device__ cq_i64 begin(cq_i64* tile_slot, cq_u32* mark_slot) {
        if (threadIdx.x == 0) {
            // Written by the previous launch on this area, which has ended.
            const cq_u32 m = *(volatile cq_u32*)&sync[2] + 1u;
            *mark_slot = m == 0u ? 1u : m;  // 0 is the zeroed flags' value
        }
        const cq_i64 tile = take(tile_slot);
        mark = *mark_slot;
        return tile;
    }
    // After the barrier that ends staging: the tile's input is in shared memory.
    __device__ void staged(cq_i64 tile) const {
        if (threadIdx.x == 0) {
            __threadfence();  // the staging loads are ordered before the flag
            atomicExch(&sync[3 + tile], mark);
        }
    }
    // Before the stores of [w0, w1) bytes: the earlier tiles whose input
    // (tile_in bytes each from src) those bytes cover have been staged.
    __device__ void wait_inputs(cq_i64 tile, const cq_u8* src, int tile_in, const void* w0, const void* w1) const {
        const cq_i64 lo_b = (cq_i64)((const cq_u8*)w0 - src), hi_b = (cq_i64)((const cq_u8*)w1 - src);
        cq_i64 lo = lo_b <= 0 ? 0 : lo_b / tile_in;
        cq_i64 hi = hi_b <= 0 ? -1 : (hi_b - 1) / tile_in;
        if (hi > tile - 1) hi = tile - 1;  // its own tile is staged; later ones are never covered
        // Each flag read with acquire by one thread, the others ordered after
        // it by the barrier.
        for (cq_i64 j = lo + threadIdx.x; j <= hi; j += CQ_THREADS)
            while (cq_load_acquire(&sync[3 + j]) != mark) { }
        __syncthreads();
    }
    // At the thread block's end, after its last take().
    __device__ void leave() const {
        if (threadIdx.x == 0 && atomicAdd(&sync[1], 1u) == gridDim.x - 1) {
            sync[0] = 0;
            sync[1] = 0;
            sync[2] = mark;
            __threadfence();
        }
    }
};

template <class D, class Out>
__device__ __forceinline__ void cq_dequant_tiles(const cq_u8* src, Out* dst,
                                                 cq_i64 n_elems, const void* __restrict__ tables, int l2_ahead,
                                                 cq_inplace ip) {
    constexpr int CQ_UNROLL = cq_tile<D>::unroll;
    constexpr int CQ_TILE_ELEMS = cq_tile<D>::elems;
    static_assert(CQ_TILE_ELEMS % D::block_size == 0, "block size must divide the tile");
    static_assert(D::block_size == 1 || D::block_size % 8 == 0, "blocks decode 8 values at a time");
    constexpr int tile_bytes_full = cq_tile<D>::bytes;
    static_assert(cq_tile<D>::bytes_u1 % 16 == 0, "tiles must start 16-byte aligned");
    constexpr int vec_full = tile_bytes_full / 16;
    __shared__ uint4 stage[vec_full + 1];  // + slack for cq_load8<1>'s last word
    cq_u8* sbytes = reinterpret_cast<cq_u8*>(stage);
    constexpr int table_vecs = cq_shared_table<D>::value / 16;
    __shared__ uint4 stable[table_vecs > 0 ? table_vecs : 1];
    if constexpr (table_vecs > 0) {
        for (int i = threadIdx.x; i < table_vecs; i += CQ_THREADS)
            stable[i] = static_cast<const uint4*>(tables)[i];
        tables = stable;
        __syncthreads();
    }

    constexpr int SG = cq_scale_groups<D>::value;
    static_assert(SG == 0 || (D::block_size / 8) % SG == 0, "a group of 8 values shares one scale");
    __shared__ float2 sscale[SG > 0 ? CQ_TILE_ELEMS / D::block_size * SG : 1];
    // The group of 8 values starting at value e of the tile (a multiple of 8,
    // >= 0; unsigned so that the divisions are shifts with no sign fix-up), for
    // partial or unaligned tiles; the fast path below computes its addresses
    // from per-thread bases instead.
    auto decode = [&](unsigned e, float* v) {
        const unsigned blk = e / D::block_size, sub = (e % D::block_size) / 8;
        if constexpr (SG > 0)
            D::decode8_scaled(sbytes + blk * D::type_size, sub, sscale[blk * SG + sub / (D::block_size / 8 / SG)], v);
        else
            D::decode8(sbytes + blk * D::type_size, sub, tables, v);
    };

    const cq_i64 n_tiles = (n_elems + CQ_TILE_ELEMS - 1) / CQ_TILE_ELEMS;
    // Uniform over the grid: 16-byte vector loads need an aligned source (every
    // tile then starts aligned); warp-wide stores need an aligned destination.
    const bool src_aligned = cq_aligned16(src);
    const bool dst_aligned = cq_aligned16(dst);
    const int lane = threadIdx.x % CQ_WARP_SIZE;
    const int warp = threadIdx.x / CQ_WARP_SIZE;

    // Warp tiles (WT): on full, aligned tiles each warp loads, stages and
    // decodes its own contiguous slice of the tile (NW slices), with warp
    // barriers only, so that no warp waits for the others of its thread block.
    // Otherwise, and on AMD (never run here: a wavefront barrier there would
    // be untested), the thread block shares the tile, with block barriers.
    constexpr bool WT = CQ_WARP_TILES_ON;
    constexpr int NW = CQ_THREADS / CQ_WARP_SIZE;
    constexpr int W_VECS = vec_full / NW;          // 16-byte pieces of a warp's slice
    constexpr int W_VALS = CQ_TILE_ELEMS / NW;     // values of a warp's slice
    static_assert(!WT || (vec_full % NW == 0 && tile_bytes_full == vec_full * 16), "warp slices of whole pieces");
    constexpr int vec_per_thread = WT ? (W_VECS + CQ_WARP_SIZE - 1) / CQ_WARP_SIZE
                                      : (vec_full + CQ_THREADS - 1) / CQ_THREADS;
    // Piece k of this thread: its index in the tile, and whether it is one.
    auto piece = [&](int k) -> int {
        return WT ? warp * W_VECS + lane + k * CQ_WARP_SIZE : (int)threadIdx.x + k * CQ_THREADS;
    };
    auto piece_in_slice = [&](int k) -> bool { return !WT || lane + k * CQ_WARP_SIZE < W_VECS; };

    // Registers holding the next tile's bytes: loaded before the current tile
    // is decoded, so the loads' latency overlaps the decoding and the stores.
    uint4 r[vec_per_thread];
    auto tile_bytes_of = [&](cq_i64 t) -> int {
        const cq_i64 left = n_elems - t * CQ_TILE_ELEMS;
        const int elems = left < CQ_TILE_ELEMS ? (int)left : CQ_TILE_ELEMS;
        return (elems + D::block_size - 1) / D::block_size * D::type_size;
    };
    auto prefetch = [&](cq_i64 t) {
        const uint4* vsrc = reinterpret_cast<const uint4*>(src + t * CQ_TILE_ELEMS / D::block_size * D::type_size);
        const int nvec = tile_bytes_of(t) / 16;
#pragma unroll
        for (int k = 0; k < vec_per_thread; ++k) {
            const int i = piece(k);
            if (piece_in_slice(k) && i < nvec) r[k] = vsrc[i];
        }
    };
    __shared__ cq_i64 ticket;  // in place: the tile taken, for the whole thread block
    __shared__ cq_u32 mark;    // ... and the launch's mark
    cq_i64 tile = ip.on() ? ip.begin(&ticket, &mark) : (cq_i64)blockIdx.x;
    if (src_aligned && tile < n_tiles) prefetch(tile);
    // The first tile of thread block blockIdx.x + l2_ahead (in place: of the
    // ticket l2_ahead later, about the same), into L2 now, so that its loads
    // find it there when it starts. A thread block reads its
    // tile only at its start, and while memory is busy with the other thread
    // blocks' writes that read took ~2.5 us (median, H200), during which the
    // thread block decoded and stored nothing (notes/h200_s13 run 1). The host
    // picks l2_ahead (gpu/dequant.py): 0 where the kernel's traffic is not
    // mostly writes.
    if (l2_ahead > 0) {
        const cq_i64 ahead = tile + l2_ahead;
        if (ahead < (cq_i64)gridDim.x && ahead < n_tiles)
            cq_prefetch_l2(src + ahead * CQ_TILE_ELEMS / D::block_size * D::type_size, tile_bytes_of(ahead),
                           threadIdx.x, CQ_THREADS);
    }

    while (tile < n_tiles) {
        const cq_i64 e0 = tile * CQ_TILE_ELEMS;
        const cq_i64 left = n_elems - e0;
        const int tile_elems = left < CQ_TILE_ELEMS ? (int)left : CQ_TILE_ELEMS;
        const int tile_bytes = tile_bytes_of(tile);
        const cq_u8* tsrc = src + e0 / D::block_size * D::type_size;
        const bool fast = dst_aligned && tile_elems == CQ_TILE_ELEMS;
        // uniform over the thread block; in place the tile is staged by the whole block before its flag
        const bool warp_local = WT && fast && src_aligned && !ip.on();
        // A shared tile: the warps may still be decoding their slices of the last one.
        if (WT && !warp_local) __syncthreads();
        int first_byte = 0;
        if (src_aligned) {
            const int nvec = tile_bytes / 16;
#pragma unroll
            for (int k = 0; k < vec_per_thread; ++k) {
                const int i = piece(k);
                if (piece_in_slice(k) && i < nvec) stage[i] = r[k];
            }
            first_byte = nvec * 16;
        }
        for (int i = first_byte + threadIdx.x; i < tile_bytes; i += CQ_THREADS) sbytes[i] = tsrc[i];
        if (warp_local) CQ_SYNC_WARP(); else __syncthreads();
        if (ip.on()) ip.staged(tile);
        if constexpr (SG > 0) {
            if (warp_local) {
                constexpr int W_BLOCKS = W_VALS / D::block_size;
                for (int i = lane; i < W_BLOCKS * SG; i += CQ_WARP_SIZE) {
                    const int g = warp * W_BLOCKS * SG + i;
                    sscale[g] = D::group_scale(sbytes + g / SG * D::type_size, g % SG);
                }
                CQ_SYNC_WARP();
            } else {
                for (int i = threadIdx.x; i < tile_bytes / D::type_size * SG; i += CQ_THREADS)
                    sscale[i] = D::group_scale(sbytes + i / SG * D::type_size, i % SG);
                __syncthreads();
            }
        }
        const cq_i64 next = ip.on() ? ip.take(&ticket) : tile + gridDim.x;
        if (src_aligned && next < n_tiles) prefetch(next);
        if (ip.on()) ip.wait_inputs(tile, src, tile_bytes_full, dst + e0, dst + e0 + tile_elems);

        // LOCAL: the warp's own slice (warp tiles), else the shared tile.
        auto decode_fast = [&](auto local_tag) {
            constexpr bool LOCAL = decltype(local_tag)::value;
            constexpr int DU = CQ_DECODE_UNROLL_OF(D) < CQ_UNROLL ? CQ_DECODE_UNROLL_OF(D) : CQ_UNROLL;
            static_assert(DU >= 1 && CQ_UNROLL % DU == 0, "decode_unroll must divide the unroll");
            // Lane l's group u is value e_thread + u * U_STRIDE of the tile, with
            // e_thread = 8 * threadIdx.x and U_STRIDE = 8 * CQ_THREADS (shared
            // tile), or e_thread = the warp's slice + 8 * l and U_STRIDE = 8 *
            // CQ_WARP_SIZE (warp tiles). U_STRIDE is a whole number of blocks
            // (U_BLOCKS): the sub-block index is the same for every u and the
            // block, scale and output addresses are fixed strides from bases, so
            // a loop over u that is not unrolled costs a few adds an iteration
            // instead of recomputing the division by block_size. Each store of a
            // warp covers 8 * CQ_WARP_SIZE consecutive values at wdst + u *
            // U_STRIDE, 16-byte aligned (dst is; spans are multiples of 8 values).
            constexpr unsigned U_STRIDE = LOCAL ? CQ_WARP_SIZE * 8 : CQ_THREADS * 8;
            constexpr unsigned U_BLOCKS = U_STRIDE / D::block_size;
            static_assert((CQ_WARP_SIZE * 8) % D::block_size == 0, "block size must divide 8 * CQ_WARP_SIZE");
            const unsigned e_thread = LOCAL ? (unsigned)(warp * W_VALS + lane * 8) : threadIdx.x * 8u;
            Out* const wdst = dst + e0 + (LOCAL ? (cq_i64)warp * W_VALS : (cq_i64)(threadIdx.x - lane) * 8);
            const int sub = (int)((e_thread % D::block_size) / 8);
            const cq_u8* const tblk = sbytes + e_thread / D::block_size * D::type_size;
#pragma unroll 1
            for (int u0 = 0; u0 < CQ_UNROLL; u0 += DU) {
#pragma unroll
                for (int du = 0; du < DU; ++du) {
                    const int u = u0 + du;
                    const cq_u8* const blk = tblk + u * U_BLOCKS * D::type_size;
                    if constexpr (sizeof(Out) == 2 && cq_direct16<D>::value) {
                        cq_u32 w[4];
                        D::template decode8_16<cq_conv16<Out>::fn>(blk, sub, w);
                        cq_store16(reinterpret_cast<uint4*>(wdst + u * U_STRIDE + 8 * lane),
                                   make_uint4(w[0], w[1], w[2], w[3]));
                    } else {
                        float v[8];
                        if constexpr (SG > 0)
                            D::decode8_scaled(blk, sub, sscale[(e_thread / D::block_size + u * U_BLOCKS) * SG +
                                                               sub / (D::block_size / 8 / SG)], v);
                        else
                            D::decode8(blk, sub, tables, v);
                        cq_store8_warp(wdst + u * U_STRIDE, v, lane);
                    }
                }
            }
        };
        if (fast) {
            if constexpr (WT) {
                if (warp_local) decode_fast(cq_bool<true>{});
                else decode_fast(cq_bool<false>{});
            } else {
                decode_fast(cq_bool<false>{});
            }
        } else {
#pragma unroll
            for (int u = 0; u < CQ_UNROLL; ++u) {
                const int e = (u * CQ_THREADS + threadIdx.x) * 8;
                if (e < tile_elems) {
                    float v[8];
                    decode(e, v);
                    cq_store8(dst + e0 + e, v, tile_elems - e);
                }
            }
        }
        if (warp_local) CQ_SYNC_WARP(); else __syncthreads();
        tile = next;
    }
    if (ip.on()) ip.leave();
}

// HIP gives the second launch bound another meaning (warps per execution
// unit): only the NVIDIA build passes min_blocks (0 there means no bound).
#if defined(CQ_CUDA)
#define CQ_DEQUANT_BOUNDS(DECODER) __launch_bounds__(CQ_THREADS, CQ_MIN_BLOCKS_OF(DECODER))
#else
#define CQ_DEQUANT_BOUNDS(DECODER) __launch_bounds__(CQ_THREADS)
#endif

#define CQ_DEQUANT_KERNEL_1(TAG, DECODER, SUFFIX, OUT)                                       \
    extern "C" __global__ void CQ_DEQUANT_BOUNDS(DECODER) cq_dequant_##TAG##_##SUFFIX(       \
        const cq_u8* src, OUT* dst, cq_i64 n_elems,                                         \
        const void* __restrict__ tables, int l2_ahead, cq_u32* sync) {                      \
        CQ_GRID_DEPENDENCY();                                                               \
        cq_dequant_tiles<DECODER>(src, dst, n_elems, tables, l2_ahead, cq_inplace{sync, 0u}); \
    }

#define CQ_DEQUANT_KERNELS(TAG, DECODER)              \
    CQ_DEQUANT_KERNEL_1(TAG, DECODER, f32, float)     \
    CQ_DEQUANT_KERNEL_1(TAG, DECODER, f16, cq_f16)    \
    CQ_DEQUANT_KERNEL_1(TAG, DECODER, bf16, cq_bf16)
