"""The store_split_sums lambda without a generic parameter (a bool instead)."""
GEN_DEF = """        auto store_split_sums = [&](auto part) {
            for (int i = tid; i < nout; i += CQ_MM_THREADS) {
                const int r = i % RT, m = i / RT;
                if (r < rows) {
                    float v = 0.0f;
                    for (int s = 0; s < n_split; ++s) v += part(s, m, r, i);
                    cq_store1(y + (cq_i64)m * ldy + n0 + r, v);
                }
            }
        };
"""
BOOL_DEF = """        const float* const parts = reinterpret_cast<const float*>(smem + part_offset);
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
"""
GEN_CL = """                const float* parts = reinterpret_cast<const float*>(smem + part_offset);
                store_split_sums([&](int s, int, int, int i) { return parts[s * nout + i]; });
"""
BOOL_CL = """                store_split_sums(true);
"""
GEN_WS = """                store_split_sums([&](int s, int m, int r, int) {
                    return cq_ld_cg(ws + ((cq_i64)s * M + m) * N + n0 + r);
                });
"""
BOOL_WS = """                store_split_sums(false);
"""


def variant(src):
    for a, b in ((GEN_DEF, BOOL_DEF), (GEN_CL, BOOL_CL), (GEN_WS, BOOL_WS)):
        assert src.count(a) == 1, a[:60]
        src = src.replace(a, b)
    return src
