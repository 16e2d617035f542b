package safetensors_test

import (
	"bytes"
	"fmt"
	"log"

	"github.com/privatesnn/privatesnn/safetensors"
)

func Example() {
	in := &safetensors.File{
		Tensors: []safetensors.Tensor{
			{Name: "features.0.weight", Shape: []int{2, 1, 1, 1}, Data: []float32{0.5, -1}},
			{Name: "classifier.0.weight", Shape: []int{1, 2}, Data: []float32{3, 4}},
		},
		Metadata: map[string]string{"arch": "vgg"},
	}
	var buf bytes.Buffer
	if err := safetensors.Encode(&buf, in); err != nil {
		log.Fatal(err)
	}
	out, err := safetensors.Decode(&buf, int64(buf.Len()))
	if err != nil {
		log.Fatal(err)
	}
	for _, t := range out.Tensors {
		fmt.Println(t.Name, t.Shape, t.Data)
	}
	w, _ := out.Get("features.0.weight")
	fmt.Println(w.Data[1], out.Metadata["arch"])
	// Output:
	// classifier.0.weight [1 2] [3 4]
	// features.0.weight [2 1 1 1] [0.5 -1]
	// -1 vgg
}
