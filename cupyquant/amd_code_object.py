"""What an AMD code object says about its kernels, read without an AMD GPU.

hiprtc returns an ELF file whose note of type NT_AMDGPU_METADATA holds, in
MessagePack, one map a kernel: scratch bytes a work-item
(``.private_segment_fixed_size``), register spills, whether it needs a dynamic
stack, its LDS, wavefront size and largest workgroup. The compile tests read
it because those costs show on AMD hardware only as a slow (or, for the
workgroup size, failing) launch, and no AMD GPU is at hand. The key names are
those of LLVM's AMDGPU code object V3+ metadata (AMDGPUUsage, "Code Object V3
Metadata").
"""

from __future__ import annotations

import struct

NT_AMDGPU_METADATA = 32
_SHT_NOTE = 7
#: LDS one workgroup may allocate on the AMD targets compiled for (gfx90a,
#: gfx942: 64 KiB a CU; gfx1030, gfx1100, gfx1200: 64 KiB a workgroup).
MAX_LDS_BYTES = 64 << 10


def metadata(code: bytes) -> dict:
    """The decoded NT_AMDGPU_METADATA note of the 64-bit little-endian ELF
    ``code``. ValueError when ``code`` is not such a file or has no note."""
    if code[:6] != b"\x7fELF\x02\x01":
        raise ValueError("not a 64-bit little-endian ELF file (an offload bundle?)")
    shoff, = struct.unpack_from("<Q", code, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", code, 0x3A)
    for i in range(shnum):
        sh_type, = struct.unpack_from("<I", code, shoff + i * shentsize + 4)
        if sh_type != _SHT_NOTE:
            continue
        offset, size = struct.unpack_from("<QQ", code, shoff + i * shentsize + 24)
        pos, end = offset, offset + size
        while pos + 12 <= end:
            namesz, descsz, note_type = struct.unpack_from("<III", code, pos)
            name_at = pos + 12
            desc_at = name_at + (namesz + 3) // 4 * 4
            if code[name_at:name_at + namesz].rstrip(b"\0") == b"AMDGPU" and note_type == NT_AMDGPU_METADATA:
                import msgpack  # the compile tests' dependency (the package does not need it)
                return msgpack.unpackb(code[desc_at:desc_at + descsz], raw=False, strict_map_key=False)
            pos = desc_at + (descsz + 3) // 4 * 4
    raise ValueError("no AMDGPU metadata note in the code object")


def kernels(code: bytes) -> dict[str, dict]:
    """Kernel name -> its metadata map (keys such as ``.vgpr_spill_count``)."""
    return {k[".name"]: k for k in metadata(code).get("amdhsa.kernels", [])}


def problems(kernel: dict, threads: int, wave: int) -> list[str]:
    """What would cost the kernel on AMD hardware, launched with ``threads``
    work-items a workgroup on a target of wavefront size ``wave``: scratch
    memory (a spill, or a local array indexed at run time, each access a
    memory round trip), a dynamic stack, LDS over MAX_LDS_BYTES, a
    wavefront size other than the one the source was written for, or a
    workgroup larger than the kernel was compiled for (the launch fails)."""
    found = []
    scratch = kernel.get(".private_segment_fixed_size", 0)
    if scratch:
        found.append(f"{scratch} bytes of scratch a work-item")
    for kind in ("vgpr", "sgpr"):
        spills = kernel.get(f".{kind}_spill_count", 0)
        if spills:
            found.append(f"{spills} {kind.upper()}s spilled")
    if kernel.get(".uses_dynamic_stack"):
        found.append("a dynamic stack")
    lds = kernel.get(".group_segment_fixed_size", 0)
    if lds > MAX_LDS_BYTES:
        found.append(f"{lds} bytes of LDS (at most {MAX_LDS_BYTES})")
    if kernel.get(".wavefront_size") != wave:
        found.append(f"wavefront size {kernel.get('.wavefront_size')}, not {wave}")
    if kernel.get(".max_flat_workgroup_size", 0) < threads:
        found.append(f"compiled for workgroups of at most {kernel.get('.max_flat_workgroup_size')} "
                     f"work-items, launched with {threads}")
    return found
