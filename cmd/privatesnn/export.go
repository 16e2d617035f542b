package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/privatesnn/privatesnn/nir"
	"github.com/privatesnn/privatesnn/stage"
)

func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		job    stage.ExportJob
		model  string
		format = "nir"
		force  bool
		out    output
	)
	fs := newFlagSet("export")
	fs.StringVar(&model, "model", "", "model directory or file, ANN or SNN (required)")
	fs.StringVar(&format, "format", format, "file format: nir (Neuromorphic Intermediate Representation, HDF5)")
	fs.StringVar(&job.Out, "out", "", "file to write (required)")
	fs.TextVar(&job.Pooling, "pooling", nir.AvgPool, "how pools are written: avg (AvgPool2d) or sum (SumPool2d, 1/4 folded into the next layer's weights; what Sinabs/Speck, Lava and SpiNNaker2 accept)")
	fs.BoolVar(&force, "force", false, "replace an existing --out file")
	out.register(fs)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if err := ready(&bounds{}, out.threads, "--model", model, "--out", job.Out); err != nil {
		return err
	}
	if format != "nir" {
		return usagef("--format %q: this version writes nir", format)
	}
	if st, err := os.Stat(job.Out); err == nil {
		if st.IsDir() {
			return usagef("--out %s is a directory; give a file path", job.Out)
		}
		if !force {
			return fmt.Errorf("%s exists; pass --force to replace it, or choose another --out", job.Out)
		}
	}
	var err error
	if job.Model, err = loadModel(model, stage.RoleModel, ""); err != nil {
		return err
	}
	return runStage(ctx, out, stdout, stderr, stage.Export, job, func(res *stage.ExportResult, w io.Writer) error {
		_, err := fmt.Fprintf(w, "exported %s (%s) to %s: NIR graph of %d nodes, %d edges, %s pooling, %d bytes\nsemantics: %s\n",
			res.Model, res.Kind, res.Out, res.Nodes, res.Edges, res.Pooling, res.Bytes, res.Semantics)
		return err
	}, nil)
}
