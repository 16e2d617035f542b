#!/usr/bin/python3
"""Write the HDF5 test fixtures of package hdf5 (hdf5/testdata/).

Run with the Debian h5py (python3-h5py 3.7, HDF5 1.10) and numpy:

    /usr/bin/python3 scripts/hdf5_fixtures.py

Every fixture NAME.h5 gets a sidecar NAME.json written from what h5py reads
back: the groups, and every dataset and attribute with its kind (float32,
float64, int64 or string, the four kinds of the Go package), shape and
row-major values. Non-finite floats are written as the strings "NaN",
"Infinity" and "-Infinity". Fixtures holding a feature the Go package does
not read have instead {"error": SUBSTRING}: decoding must fail with an error
whose message contains SUBSTRING. No object modification times are recorded,
so every run writes the same bytes.
"""

import json
import math
import os

import h5py
import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "hdf5", "testdata")


def new_file(name, libver="earliest", userblock=0):
    """Create testdata/NAME for writing, recording no object times (libhdf5
    records them for the root group of libver="latest" files otherwise), so
    that the output is the same on every run."""
    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    low = h5py.h5f.LIBVER_LATEST if libver == "latest" else h5py.h5f.LIBVER_EARLIEST
    fapl.set_libver_bounds(low, h5py.h5f.LIBVER_LATEST)
    fcpl = h5py.h5p.create(h5py.h5p.FILE_CREATE)
    fcpl.set_obj_track_times(False)
    if userblock:
        fcpl.set_userblock(userblock)
    fid = h5py.h5f.create(os.path.join(OUT, name).encode(), h5py.h5f.ACC_TRUNC, fcpl=fcpl, fapl=fapl)
    return h5py.File(fid)


def mkgroup(parent, name):
    """parent.create_group(name), recording no times (version 2 object
    headers store them otherwise)."""
    gcpl = h5py.h5p.create(h5py.h5p.GROUP_CREATE)
    gcpl.set_obj_track_times(False)
    h5py.h5g.create(parent.id, name.encode(), gcpl=gcpl)
    return parent[name]


def kind_of(dtype):
    """Map an h5py dtype to the Go package's Kind name."""
    if h5py.check_string_dtype(dtype) is not None or dtype.kind == "S":
        return "string"
    if dtype.kind == "f":
        return {4: "float32", 8: "float64"}[dtype.itemsize]
    if dtype.kind in "iub":
        return "int64"
    raise ValueError(f"unexpected dtype {dtype}")


def json_value(kind, v):
    if kind == "string":
        return v.decode("utf-8") if isinstance(v, bytes) else str(v)
    if kind == "int64":
        return int(v)
    x = float(v)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x


def describe_values(value, dtype):
    kind = kind_of(dtype)
    arr = np.asarray(value)
    flat = arr.reshape(-1).tolist() if arr.dtype != object else list(arr.reshape(-1))
    return {
        "kind": kind,
        "shape": list(arr.shape),
        "values": [json_value(kind, v) for v in flat],
    }


def describe(path):
    """Read a fixture back with h5py and describe every object in it."""
    out = {"groups": [], "datasets": [], "attributes": []}

    def attrs(obj, opath):
        for name in sorted(obj.attrs.keys()):
            a = obj.attrs.get_id(name)
            value = obj.attrs[name]
            entry = {"path": opath, "name": name}
            entry.update(describe_values(value, a.dtype))
            out["attributes"].append(entry)

    with h5py.File(path, "r") as f:
        out["groups"].append("/")
        attrs(f, "/")

        def visit(name, obj):
            p = "/" + name
            if isinstance(obj, h5py.Group):
                out["groups"].append(p)
            else:
                entry = {"path": p}
                entry.update(describe_values(obj[()], obj.dtype))
                out["datasets"].append(entry)
            attrs(obj, p)

        f.visititems(visit)
    for k in out:
        if k != "attributes":
            out[k].sort(key=lambda e: e if isinstance(e, str) else e["path"])
    out["attributes"].sort(key=lambda e: (e["path"], e["name"]))
    return out


def finish(name, expect_error=None):
    path = os.path.join(OUT, name + ".h5")
    side = {"error": expect_error} if expect_error else describe(path)
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(side, f, separators=(",", ":"), sort_keys=True)
        f.write("\n")


def nir_write_recursive(group, node):
    """The dataset and group calls of NIR's writer (nir.serialization.write)."""
    for k, v in node.items():
        if k == "metadata":
            if v != {}:
                nir_write_recursive(group.create_group(k), v)
        elif isinstance(v, str):
            group.create_dataset(k, data=v, dtype=h5py.string_dtype())
        elif isinstance(v, np.ndarray):
            group.create_dataset(k, data=v, dtype=v.dtype, compression="gzip")
        elif isinstance(v, dict):
            nir_write_recursive(group.create_group(str(k)), v)
        else:
            group.create_dataset(k, data=v)


def nir_graph():
    """A small NIR graph with 21 nodes: gzip-compressed arrays live in a few
    of them (each costs a 2 KB chunk B-tree node in the file); the Flatten
    nodes hold Python ints only."""
    rng = np.random.default_rng(0)
    nodes = {"input": {"type": "Input", "shape": np.array([4], dtype=np.int64)}}
    prev = "input"
    edges = []
    for i in range(1):
        a, l = f"affine{i}", f"lif{i}"
        nodes[a] = {
            "type": "Affine",
            "weight": rng.standard_normal((4, 4)).astype(np.float32),
            "bias": rng.standard_normal(4).astype(np.float32),
        }
        nodes[l] = {
            "type": "LIF",
            "tau": np.full(4, 0.02, dtype=np.float32),
            "r": np.ones(4, dtype=np.float32),
            "v_leak": np.zeros(4, dtype=np.float32),
            "v_threshold": np.full(4, 1.5, dtype=np.float32),
        }
        edges += [(prev, a), (a, l)]
        prev = l
    for i in range(16):
        n = f"flatten{i:02d}"
        nodes[n] = {"type": "Flatten", "start_dim": 1, "end_dim": -1}
        edges.append((prev, n))
        prev = n
    nodes["conv"] = {
        "type": "Conv2d",
        "weight": rng.standard_normal((2, 1, 3, 3)).astype(np.float32),
        "stride": np.array([1, 1], dtype=np.int64),
        "groups": 1,
    }
    nodes["output"] = {"type": "Output", "shape": np.array([4], dtype=np.int64)}
    edges += [(prev, "conv"), ("conv", "output")]
    return {
        "type": "NIRGraph",
        "nodes": nodes,
        "edges": edges,
        "metadata": {"dt": 0.001, "steps": 25, "reset": True, "name": "test graph"},
    }


def write_nir():
    with new_file("nir.h5") as f:
        f.create_dataset("version", data="1.0.4", dtype=h5py.string_dtype())
        nir_write_recursive(f.create_group("node"), nir_graph())
    finish("nir")


def write_latest():
    with new_file("latest.h5", "latest") as f:
        f.create_dataset("version", data="1.0.4", dtype=h5py.string_dtype())
        f.create_dataset("single", data=np.arange(20, dtype=np.float32), compression="gzip")
        f.create_dataset("fixed", data=np.arange(60, dtype=np.int32).reshape(6, 10),
                         chunks=(4, 3), compression="gzip", shuffle=True)
        f.create_dataset("plain_fixed", data=np.arange(10, dtype=np.float64), chunks=(3,))
        f.create_dataset("paged", data=(np.arange(1030) % 251).astype(np.uint8), chunks=(1,))
        f.create_dataset("contig", data=np.linspace(0, 1, 7))
        # implicit chunk index: unfiltered chunks allocated early
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_chunk((3, 2))
        dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
        dcpl.set_obj_track_times(False)
        dsid = h5py.h5d.create(f.id, b"implicit", h5py.h5t.STD_I16LE, h5py.h5s.create_simple((7, 5)), dcpl=dcpl)
        dsid.write(h5py.h5s.ALL, h5py.h5s.ALL, np.arange(35, dtype=np.int16).reshape(7, 5))
        f.create_dataset("scalar", data=7)
        f.create_dataset("words", data=["alpha", "béta", ""], dtype=h5py.string_dtype())
        dense = mkgroup(f, "dense")
        for i in range(12):
            dense.create_dataset(f"item{i:02d}", data=np.int64(i * 10))
        mkgroup(dense, "sub").create_dataset("x", data=np.float32(2.5))
        for i in range(10):
            dense.attrs[f"attr{i:02d}"] = np.float64(i) / 4
        wide = mkgroup(f, "wide")  # fractal heap with an indirect block, 2-level name B-tree
        for i in range(48):
            mkgroup(wide, f"a_rather_long_member_name_{i:03d}")
        compact = mkgroup(f, "compact")
        compact.attrs["label"] = "compact group"
        compact.create_dataset("y", data=[1.5, 2.5])
        d = f["contig"]
        for i in range(6):  # attributes added later go to continuation chunks
            d.attrs[f"note{i}"] = f"note number {i}" * 3
    finish("latest")


def write_attrs():
    with new_file("attrs.h5") as f:
        f.create_group("g").attrs["vlen_str"] = "group attribute"
        for t in [f, f.create_dataset("d", data=np.arange(3, dtype=np.int16))]:
            a = t.attrs
            a["f32"] = np.float32(1.25)
            a["f32_arr"] = np.array([0.5, -2.0, 3.0e-8], dtype=np.float32)
            a["f64"] = 3.141592653589793
            a["f64_2d"] = np.arange(6, dtype=np.float64).reshape(2, 3) / 7
            a["i8"] = np.int8(-5)
            a["i16"] = np.array([-300, 300], dtype=np.int16)
            a["i32"] = np.array([-70000, 70000], dtype=np.int32)
            a["i64"] = np.array([-(2**62), 2**62 + 3], dtype=np.int64)
            a["u8"] = np.uint8(200)
            a["u16"] = np.array([65535], dtype=np.uint16)
            a["u32"] = np.array([4000000000], dtype=np.uint32)
            a["u64"] = np.array([2**63 - 1, 0], dtype=np.uint64)
            a["bool"] = True
            a["bools"] = np.array([True, False, True])
            a["fixed_str"] = np.bytes_("hello")
            a["fixed_strs"] = np.array([b"a", b"bcd", b""], dtype="S3")
            a["vlen_str"] = "variable ünïcode"
            a["vlen_strs"] = np.array(["x", "yy", ""], dtype=h5py.string_dtype())
            a["be_i32"] = np.array([1, -2], dtype=">i4")
            a["be_f64"] = np.array([1.5, -0.25], dtype=">f8")
    finish("attrs")


def write_misc():
    with new_file("misc.h5") as f:
        f.create_dataset("shuffle_gzip", data=np.arange(70, dtype=np.float64).reshape(7, 10) / 3,
                         chunks=(3, 4), compression="gzip", shuffle=True)
        f.create_dataset("fletcher", data=np.arange(25, dtype=np.int32) - 12, chunks=(10,),
                         fletcher32=True, compression="gzip")
        f.create_dataset("be_f32", data=np.array([1.0, -2.5, 1e30], dtype=">f4"))
        f.create_dataset("be_i64", data=np.array([-1, 2**40], dtype=">i8"))
        f.create_dataset("u16", data=np.array([0, 1, 65535], dtype=np.uint16))
        f.create_dataset("i8_3d", data=(np.arange(24) - 12).astype(np.int8).reshape(2, 3, 4))
        f.create_dataset("nonfinite", data=np.array([np.nan, np.inf, -np.inf, -0.0], dtype=np.float32))
        f.create_dataset("empty", shape=(0,), dtype=np.float32)
        f.create_dataset("empty2d", shape=(3, 0), dtype=np.int64)
        f.create_dataset("fixed_strs", data=np.array([b"one", b"three", b"x"], dtype="S5"))
        f.create_dataset("vlen_2d", data=[["a", "é"], ["ccc", ""]], dtype=h5py.string_dtype())
        f.create_dataset("f32_scalar", data=np.float32(-7.5))
        part = f.create_dataset("partial", shape=(10,), chunks=(4,), dtype=np.int32, fillvalue=-9)
        part[0:4] = np.arange(4)
        part2 = f.create_dataset("unwritten", shape=(2, 2), dtype=np.float64, fillvalue=0.5)
        del part2
        # compact layout, through the low-level API
        space = h5py.h5s.create_simple((4,))
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_layout(h5py.h5d.COMPACT)
        dcpl.set_obj_track_times(False)
        dsid = h5py.h5d.create(f.id, b"compact", h5py.h5t.STD_I64LE, space, dcpl=dcpl)
        dsid.write(h5py.h5s.ALL, h5py.h5s.ALL, np.array([5, 6, 7, 8], dtype=np.int64))
        # a group in a user-defined order is still read back by name
        g = f.create_group("zz_group")
        for n in ["b", "a", "c"]:
            g.create_dataset(n, data=n)
    finish("misc")


def write_userblock():
    with new_file("userblock.h5", userblock=512) as f:
        f.create_dataset("x", data=np.arange(3, dtype=np.float32))
        f.create_group("g").create_dataset("s", data=np.bytes_("text"))
    finish("userblock")


def unsupported(name, expect, build, libver="earliest"):
    with new_file(f"unsupported_{name}.h5", libver) as f:
        build(f)
    finish(f"unsupported_{name}", expect)


def write_unsupported():
    unsupported("compound", "compound",
                lambda f: f.create_dataset("c", data=np.zeros(2, dtype=[("a", "<i4"), ("b", "<f8")])))
    unsupported("float16", "float16", lambda f: f.create_dataset("h", data=np.ones(3, dtype=np.float16)))
    unsupported("lzf", "unsupported filter 32000",
                lambda f: f.create_dataset("z", data=np.arange(10), compression="lzf"))
    unsupported("softlink", "soft link", lambda f: f.__setitem__("s", h5py.SoftLink("/nowhere")))
    unsupported("extarray", "unsupported chunk index type 4",
                lambda f: f.create_dataset("e", data=np.arange(10), maxshape=(None,)), libver="latest")
    unsupported("btree2index", "unsupported chunk index type 5",
                lambda f: f.create_dataset("b", data=np.ones((2, 2)), maxshape=(None, None)), libver="latest")
    unsupported("reference", "reference",
                lambda f: f.create_dataset("r", data=[f.ref], dtype=h5py.ref_dtype))
    unsupported("vlenseq", "variable-length sequence",
                lambda f: f.create_dataset("v", (1,), dtype=h5py.vlen_dtype(np.int64)))
    unsupported("null", "null (empty) dataspace", lambda f: f.attrs.__setitem__("e", h5py.Empty("f4")))
    unsupported("external", "external data storage",
                lambda f: f.create_dataset("x", shape=(4,), dtype="f4", external=[("ext.bin", 0, 16)]))
    unsupported("committed", "committed (named) datatypes",
                lambda f: f.__setitem__("t", np.dtype("f4")))


def main():
    os.makedirs(OUT, exist_ok=True)
    write_nir()
    write_latest()
    write_attrs()
    write_misc()
    write_userblock()
    write_unsupported()


if __name__ == "__main__":
    main()
