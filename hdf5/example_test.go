package hdf5_test

import (
	"fmt"

	"github.com/privatesnn/privatesnn/hdf5"
)

func Example() {
	root := &hdf5.Group{
		Datasets: []*hdf5.Dataset{{Name: "version", Kind: hdf5.String, Str: []string{"1.0.4"}}},
		Groups: []*hdf5.Group{{Name: "node", Datasets: []*hdf5.Dataset{
			{Name: "type", Kind: hdf5.String, Str: []string{"Affine"}},
			{Name: "weight", Kind: hdf5.Float32, Shape: []int{2, 2}, F32: []float32{1, 2, 3, 4}},
		}}},
	}
	b, err := hdf5.Encode(root)
	if err != nil {
		fmt.Println(err)
		return
	}
	g, err := hdf5.Decode(b, hdf5.Limits{})
	if err != nil {
		fmt.Println(err)
		return
	}
	node := g.Group("node")
	w := node.Dataset("weight")
	fmt.Println(g.Dataset("version").Str[0], node.Dataset("type").Str[0], w.Shape, w.F32)
	// Output: 1.0.4 Affine [2 2] [1 2 3 4]
}
