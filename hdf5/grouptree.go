package hdf5

// Layout of the symbol table of an old-style group: symbol table nodes
// (SNOD) holding up to 2*groupLeafK entries each, indexed by a version 1
// B-tree whose nodes have up to 2*groupInternalK children.

// Group symbol table capacities.
const (
	snodCapacity  = 2 * groupLeafK     // entries per symbol table node
	btreeChildren = 2 * groupInternalK // children per group B-tree node
)

// btNode is one group B-tree node: its offset, the range [lo, hi) of its
// children at the level below (symbol table nodes for level 0), and the
// range [entLo, entHi) of group entries below it.
type btNode struct {
	off          int
	lo, hi       int
	entLo, entHi int
}

// groupTree is the planned layout of a group with n entries.
type groupTree struct {
	n      int
	snods  []int      // offset of each symbol table node
	levels [][]btNode // levels[0] points at symbol table nodes; the last level is the root
}

// root returns the offset of the B-tree root node.
func (t *groupTree) root() int { return t.levels[len(t.levels)-1][0].off }

// snodRange returns the entries held by symbol table node j.
func (t *groupTree) snodRange(j int) (int, int) {
	return j * snodCapacity, min(t.n, (j+1)*snodCapacity)
}

// planGroupTree reserves the nodes for a group with n entries.
func (e *encoder) planGroupTree(n int) *groupTree {
	t := &groupTree{n: n}
	nsnod := (n + snodCapacity - 1) / snodCapacity
	below := nsnod
	for level := 0; level == 0 || below > 1; level++ {
		count := max(1, (below+btreeChildren-1)/btreeChildren)
		nodes := make([]btNode, count)
		for k := range nodes {
			lo, hi := k*btreeChildren, min(below, (k+1)*btreeChildren)
			nodes[k] = btNode{off: e.alloc(groupBTreeNodeSize), lo: lo, hi: hi}
			switch {
			case level == 0 && hi > lo:
				nodes[k].entLo, _ = t.snodRange(lo)
				_, nodes[k].entHi = t.snodRange(hi - 1)
			case level > 0:
				nodes[k].entLo = t.levels[level-1][lo].entLo
				nodes[k].entHi = t.levels[level-1][hi-1].entHi
			}
		}
		t.levels = append(t.levels, nodes)
		below = count
	}
	for range nsnod {
		t.snods = append(t.snods, e.alloc(snodSize))
	}
	return t
}

// putGroupBTree writes the B-tree nodes of t; nameOffs are the local heap
// offsets of the entries' names (offset 0 holds the empty string).
func (e *encoder) putGroupBTree(t *groupTree, nameOffs []uint64) {
	for level, nodes := range t.levels {
		for k, nd := range nodes {
			b := make([]byte, 0, groupBTreeNodeSize)
			b = append(b, "TREE"...)
			b = append(b, btreeGroupNode, byte(level))
			b = le.AppendUint16(b, uint16(nd.hi-nd.lo))
			b = le.AppendUint64(b, siblingAddr(nodes, k-1))
			b = le.AppendUint64(b, siblingAddr(nodes, k+1))
			key0 := uint64(0)
			if nd.entLo > 0 {
				key0 = nameOffs[nd.entLo-1]
			}
			b = le.AppendUint64(b, key0)
			for j := nd.lo; j < nd.hi; j++ {
				var addr, last int
				if level == 0 {
					addr = t.snods[j]
					_, last = t.snodRange(j)
				} else {
					addr = t.levels[level-1][j].off
					last = t.levels[level-1][j].entHi
				}
				b = le.AppendUint64(b, uint64(addr))
				b = le.AppendUint64(b, nameOffs[last-1])
			}
			copy(e.buf[nd.off:nd.off+groupBTreeNodeSize], b)
		}
	}
}

// siblingAddr returns the offset of nodes[k], or the undefined address when
// k is out of range.
func siblingAddr(nodes []btNode, k int) uint64 {
	if k < 0 || k >= len(nodes) {
		return undefAddr
	}
	return uint64(nodes[k].off)
}

// putSymbolNodes writes the symbol table nodes of t. cache holds, per
// entry, the cache type and the scratch-pad B-tree and heap addresses.
func (e *encoder) putSymbolNodes(t *groupTree, nameOffs, addrs []uint64, cache [][3]uint64) {
	for j, off := range t.snods {
		lo, hi := t.snodRange(j)
		b := make([]byte, 0, snodSize)
		b = append(b, "SNOD"...)
		b = append(b, 1, 0) // version 1, reserved
		b = le.AppendUint16(b, uint16(hi-lo))
		for i := lo; i < hi; i++ {
			b = appendSymbolEntry(b, nameOffs[i], addrs[i], uint32(cache[i][0]), cache[i][1], cache[i][2])
		}
		copy(e.buf[off:off+snodSize], b)
	}
}
