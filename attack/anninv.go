package attack

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/nn"
	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/tensor"
	"github.com/privatesnn/privatesnn/vgg"
)

// annObjective is Attack 4's loss on the ANN m: Σ_i CE(softmax(z_i), t_i)
// with z = m(x) the logits in inference mode, differentiated exactly by
// m's backward pass. It draws nothing from rng.
func annObjective(m *vgg.Model, targets []int) inputGrad {
	dz := tensor.New(len(targets), m.Config.Classes)
	return func(_ context.Context, x *tensor.Tensor, _ *rand.Rand) (*tensor.Tensor, error) {
		z := m.Forward(x, nn.Mode{})
		if err := finite(z.Data); err != nil {
			return nil, fmt.Errorf("logits: %w", err)
		}
		ceGrad(dz, z, targets, 1)
		return m.Backward(dz, nn.Grad{Input: true}), nil
	}
}

// RunANNInversion runs Attack 4: Attack 3's Adam rule (the tanh-bounded
// image, the TV and L2 priors, jitter, flips, blur and restarts of o)
// against the ANN ann, for an SNN the one Reconvert returns. The objective
// is the target class's cross-entropy CE(softmax(z), t), z the ANN's
// logits in inference mode, with exact gradients. The kept image of each
// target is the restart whose quantised image has the lowest ANN
// cross-entropy; Result.Logits are the ANN's logits for the final
// quantised images and Result.Loss their cross-entropy. o.Encoding and
// o.Surrogate do not apply (a zero surrogate is accepted); o.Rule must be
// AdamRule: PopulationRule samples Poisson spikes, which an ANN has none
// of. rng draws each restart's start, jitter and flips, nothing else.
func RunANNInversion(ctx context.Context, ann *vgg.Model, norm imageset.Normalization, targets []int, o InversionOptions, rng *rand.Rand, pr progress.Func) (*Result, error) {
	v := o
	v.Surrogate = snn.DefaultSurrogate()
	verr := v.Validate()
	if verr == nil && o.Rule != AdamRule {
		verr = fmt.Errorf("attack 4: rule %v: only the adam rule applies to an ANN", o.Rule)
	}
	cfg := ann.Config
	res, err := start(ANNInversion, verr, norm, cfg, targets)
	if err != nil {
		return nil, err
	}
	step := stepCounter("attack 4", o.Restarts*o.Iterations, pr)
	obj := annObjective(ann, targets)
	err = bestOf(res, o.Restarts, 1, func(cand *Result) error {
		x, err := adamLoop(ctx, cfg, norm, len(targets), o, rng, step, obj)
		if err != nil {
			return err
		}
		return finishANN(ann, norm, x, cand)
	})
	if err != nil {
		return nil, fmt.Errorf("attack 4, %w", err)
	}
	return res, nil
}

// finishANN quantises x into res.Pixels and records the ANN's logits for
// the quantised images.
func finishANN(m *vgg.Model, norm imageset.Normalization, x *tensor.Tensor, res *Result) error {
	quantize(res.Pixels, x.Data, norm)
	normalize(res.Images.Data, res.Pixels, norm)
	res.Logits = Classify(m, res.Images, 0)
	if err := finite(res.Logits.Data); err != nil {
		return fmt.Errorf("final logits: %w", err)
	}
	return nil
}
