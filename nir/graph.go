package nir

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/privatesnn/privatesnn/hdf5"
)

// Version is the NIR version string written to a file's root "version"
// dataset: the primitives and field names used here are those of NIR 1.0.
const Version = "1.0.0"

// Graph is a NIR graph: named nodes, the edges between them, and the
// graph's metadata.
type Graph struct {
	Nodes map[string]*Node
	// Edges are (source, destination) node names.
	Edges [][2]string
	// Metadata holds the graph's metadata entries by key (MetaKey…).
	Metadata map[string]*hdf5.Dataset
}

// Node is one NIR primitive: its type name ("Conv2d", "IF", …) and its
// parameters by field name, as NIR stores them.
type Node struct {
	Type   string
	Params map[string]*hdf5.Dataset
}

// Errors of Decode.
var (
	// ErrNotNIR: the HDF5 file has no NIR graph at "node".
	ErrNotNIR = errors.New("not a NIR file: no group \"node\" of type NIRGraph")
)

// maxNodes bounds the nodes of a graph Decode accepts.
const maxNodes = 1 << 16

// Tree returns the HDF5 tree NIR's writer makes of g: a root "version"
// string, and a group "node" of type "NIRGraph" with a group "nodes" (one
// group per node: its "type" and one dataset per parameter), an "edges"
// array of name pairs and, when g has metadata, a group "metadata".
func (g *Graph) Tree() (*hdf5.Group, error) {
	if err := g.check(); err != nil {
		return nil, err
	}
	nodes := &hdf5.Group{Name: "nodes"}
	for _, name := range slices.Sorted(maps.Keys(g.Nodes)) {
		n := g.Nodes[name]
		ng := &hdf5.Group{Name: name, Datasets: []*hdf5.Dataset{str("type", n.Type)}}
		for _, k := range slices.Sorted(maps.Keys(n.Params)) {
			d := *n.Params[k]
			d.Name = k
			ng.Datasets = append(ng.Datasets, &d)
		}
		nodes.Groups = append(nodes.Groups, ng)
	}
	edges := &hdf5.Dataset{Name: "edges", Kind: hdf5.String, Shape: []int{len(g.Edges), 2}}
	for _, e := range g.Edges {
		edges.Str = append(edges.Str, e[0], e[1])
	}
	node := &hdf5.Group{Name: "node", Groups: []*hdf5.Group{nodes},
		Datasets: []*hdf5.Dataset{edges, str("type", "NIRGraph")}}
	if len(g.Metadata) > 0 {
		md := &hdf5.Group{Name: "metadata"}
		for _, k := range slices.Sorted(maps.Keys(g.Metadata)) {
			d := *g.Metadata[k]
			d.Name = k
			md.Datasets = append(md.Datasets, &d)
		}
		node.Groups = append(node.Groups, md)
	}
	return &hdf5.Group{Datasets: []*hdf5.Dataset{str("version", Version)}, Groups: []*hdf5.Group{node}}, nil
}

// check reports a graph Tree cannot write: an edge naming a missing node,
// a node without a type.
func (g *Graph) check() error {
	for name, n := range g.Nodes {
		if n == nil || n.Type == "" {
			return fmt.Errorf("nir: node %q has no type", name)
		}
	}
	for _, e := range g.Edges {
		for _, end := range e {
			if _, ok := g.Nodes[end]; !ok {
				return fmt.Errorf("nir: edge %s → %s names a missing node %q", e[0], e[1], end)
			}
		}
	}
	return nil
}

// Decode reads the NIR graph of an HDF5 tree. Nested graphs (a node of
// type NIRGraph) are not supported.
func Decode(root *hdf5.Group) (*Graph, error) {
	node := root.Group("node")
	if node == nil || stringOf(node.Dataset("type")) != "NIRGraph" {
		return nil, ErrNotNIR
	}
	g := &Graph{Nodes: map[string]*Node{}, Metadata: map[string]*hdf5.Dataset{}}
	nodes := node.Group("nodes")
	if nodes == nil {
		return nil, errors.New("nir: the graph has no group \"nodes\"")
	}
	if len(nodes.Groups) > maxNodes {
		return nil, fmt.Errorf("nir: %d nodes, more than %d", len(nodes.Groups), maxNodes)
	}
	for _, ng := range nodes.Groups {
		n, err := decodeNode(ng)
		if err != nil {
			return nil, err
		}
		g.Nodes[ng.Name] = n
	}
	if err := g.decodeEdges(node.Dataset("edges")); err != nil {
		return nil, err
	}
	if md := node.Group("metadata"); md != nil {
		for _, d := range md.Datasets {
			g.Metadata[d.Name] = d
		}
	}
	return g, g.check()
}

// decodeNode reads one node's group.
func decodeNode(ng *hdf5.Group) (*Node, error) {
	t := stringOf(ng.Dataset("type"))
	if t == "" {
		return nil, fmt.Errorf("nir: node %q has no string dataset \"type\"", ng.Name)
	}
	if t == "NIRGraph" {
		return nil, fmt.Errorf("nir: node %q is a nested graph, which this reader does not support", ng.Name)
	}
	n := &Node{Type: t, Params: map[string]*hdf5.Dataset{}}
	for _, d := range ng.Datasets {
		if d.Name != "type" {
			n.Params[d.Name] = d
		}
	}
	return n, nil
}

// decodeEdges reads the (E, 2) string array of edges.
func (g *Graph) decodeEdges(d *hdf5.Dataset) error {
	if d == nil {
		return errors.New("nir: the graph has no dataset \"edges\"")
	}
	if d.Kind != hdf5.String {
		return fmt.Errorf("nir: edges are %v values, want strings", d.Kind)
	}
	switch {
	case len(d.Str) == 0:
		return nil
	case len(d.Shape) != 2 || d.Shape[1] != 2:
		return fmt.Errorf("nir: edges have shape %v, want (E, 2)", d.Shape)
	}
	for i := 0; i+1 < len(d.Str); i += 2 {
		g.Edges = append(g.Edges, [2]string{d.Str[i], d.Str[i+1]})
	}
	return nil
}

// str returns a scalar string dataset.
func str(name, v string) *hdf5.Dataset {
	return &hdf5.Dataset{Name: name, Kind: hdf5.String, Str: []string{v}}
}

// stringOf returns a scalar (or one-element) string dataset's value, or ""
// when d is nil or not one string.
func stringOf(d *hdf5.Dataset) string {
	if d == nil || d.Kind != hdf5.String || len(d.Str) != 1 {
		return ""
	}
	return d.Str[0]
}

// Read reads the NIR file at path.
func Read(path string) (*Graph, error) {
	root, err := hdf5.ReadFile(path, hdf5.DefaultLimits())
	if err != nil {
		return nil, err
	}
	g, err := Decode(root)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return g, nil
}

// Write writes g to path atomically (a failure leaves an existing file
// as it was).
func Write(path string, g *Graph) error {
	t, err := g.Tree()
	if err != nil {
		return err
	}
	return hdf5.WriteFile(path, t)
}
