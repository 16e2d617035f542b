package vgg

import (
	"fmt"
	"sort"
)

// A is shorthand for Pool in feature lists.
const A = Pool

// features lists the reference's cfgs.
var features = map[string][]Item{
	"vgg5":  {64, A, 128, 128, A},
	"vgg9":  {64, 64, A, 128, 128, A, 256, 256, 256, A},
	"vgg11": {64, A, 128, A, 256, 256, A, 512, 512, A, 512, 512},
	"vgg13": {64, 64, A, 128, 128, A, 256, 256, A, 512, 512, 512, A, 512},
	"vgg16": {64, 64, A, 128, 128, A, 256, 256, 256, A, 512, 512, 512, A, 512, 512, 512, A},
	// small is privatesnn's default for 28×28 grey images: four convs in two
	// stages, trainable in minutes on two cores.
	"small": {32, 32, A, 64, 64, A},
}

// Names returns the preset names in sorted order.
func Names() []string {
	var ns []string
	for n := range features {
		ns = append(ns, n)
	}
	sort.Strings(ns)
	return ns
}

// Preset returns the named architecture for inputs of the given shape and
// class count. The classifier follows the reference: VGG5 has two hidden FCs
// of 4096, the others one of 4096; "small" has one of 256. Dropout follows
// the reference's defaults (conv 0, classifier 0.5), except "small" which
// uses conv dropout 0.1.
func Preset(name string, inC, inH, inW, classes int) (Config, error) {
	f, ok := features[name]
	if !ok {
		return Config{}, fmt.Errorf("vgg: unknown model %q (known: %v)", name, Names())
	}
	c := Config{
		Name: name, Features: append([]Item(nil), f...), Hidden: []int{4096}, Classes: classes,
		InChannels: inC, InHeight: inH, InWidth: inW, ConvDropout: 0, FCDropout: 0.5,
	}
	switch name {
	case "vgg5":
		c.Hidden = []int{4096, 4096}
	case "small":
		c.Hidden = []int{256}
		c.ConvDropout = 0.1
	}
	return c, c.Validate()
}
