package encrypt_test

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/privatesnn/privatesnn/encrypt"
	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/loss"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/tensor"
)

// defenseKeys are the JSON keys of the defences' options.
var defenseKeys = []string{"label_smoothing", "trapdoor_rate", "trapdoor_blend", "trapdoor_seed", "erase_rate", "erase_area", "white"}

// allDefenses returns o with every defence on.
func allDefenses(o encrypt.Options) encrypt.Options {
	o.LabelSmoothing, o.TrapdoorRate, o.TrapdoorSeed, o.EraseRate = -0.2, 0.25, 11, 0.5
	return o
}

func TestDefenseOptionsValidate(t *testing.T) {
	nan := math.NaN()
	for name, mutate := range map[string]func(*encrypt.Options){
		"smoothing below -1":    func(o *encrypt.Options) { o.LabelSmoothing = -1.01 },
		"smoothing 1":           func(o *encrypt.Options) { o.LabelSmoothing = 1 },
		"smoothing NaN":         func(o *encrypt.Options) { o.LabelSmoothing = nan },
		"trapdoor rate < 0":     func(o *encrypt.Options) { o.TrapdoorRate = -0.1 },
		"trapdoor rate > 1":     func(o *encrypt.Options) { o.TrapdoorRate = 1.5 },
		"trapdoor rate NaN":     func(o *encrypt.Options) { o.TrapdoorRate = nan },
		"trapdoor blend < 0":    func(o *encrypt.Options) { o.TrapdoorRate, o.TrapdoorBlend = 0.1, -0.3 },
		"trapdoor blend > 1":    func(o *encrypt.Options) { o.TrapdoorRate, o.TrapdoorBlend = 0.1, 1.1 },
		"erase rate < 0":        func(o *encrypt.Options) { o.EraseRate = -1 },
		"erase rate > 1":        func(o *encrypt.Options) { o.EraseRate = 2 },
		"erase rate NaN":        func(o *encrypt.Options) { o.EraseRate = nan },
		"erase area min 0":      func(o *encrypt.Options) { o.EraseRate, o.EraseArea = 0.5, [2]float64{0, 0.4} },
		"erase area decreasing": func(o *encrypt.Options) { o.EraseRate, o.EraseArea = 0.5, [2]float64{0.4, 0.1} },
		"erase area above 1":    func(o *encrypt.Options) { o.EraseRate, o.EraseArea = 0.5, [2]float64{0.5, 1.2} },
		"erase area NaN":        func(o *encrypt.Options) { o.EraseArea = [2]float64{nan, 0.4} },
		"white NaN":             func(o *encrypt.Options) { o.White = float32(nan) },
	} {
		o := encrypt.Defaults()
		mutate(&o)
		if err := o.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	for name, mutate := range map[string]func(*encrypt.Options){
		"smoothing -1":       func(o *encrypt.Options) { o.LabelSmoothing = -1 },
		"smoothing 0.99":     func(o *encrypt.Options) { o.LabelSmoothing = 0.99 },
		"trapdoor 1, β 1":    func(o *encrypt.Options) { o.TrapdoorRate, o.TrapdoorBlend = 1, 1 },
		"trapdoor, β 0":      func(o *encrypt.Options) { o.TrapdoorRate = 0.1 },
		"erase 1, area 1":    func(o *encrypt.Options) { o.EraseRate, o.EraseArea = 1, [2]float64{1, 1} },
		"erase, area zero":   func(o *encrypt.Options) { o.EraseRate = 0.1 },
		"all, resolved":      func(o *encrypt.Options) { *o = allDefenses(*o).Resolve(toyConfig(), imageset.TrainingNormalization()) },
		"erase area, off":    func(o *encrypt.Options) { o.EraseArea = [2]float64{0.2, 0.2} },
		"trapdoor seed only": func(o *encrypt.Options) { o.TrapdoorSeed = 99 },
	} {
		o := encrypt.Defaults()
		mutate(&o)
		if err := o.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestDefenses(t *testing.T) {
	o := encrypt.Defaults()
	if s := o.Defenses(); s != "" {
		t.Errorf("defaults: %q, want none", s)
	}
	o.LabelSmoothing = 0.1
	if s := o.Defenses(); s != "ls α=0.1" {
		t.Errorf("positive smoothing: %q", s)
	}
	o = allDefenses(encrypt.Defaults())
	if s, want := o.Defenses(), "nls α=-0.2, trapdoor ρ=0.25 β=0.3, erase p=0.5 area=[0.1,0.4]"; s != want {
		t.Errorf("all: %q, want %q", s, want)
	}
	o.TrapdoorBlend, o.EraseArea = 0.5, [2]float64{0.2, 0.3}
	if s, want := o.Defenses(), "nls α=-0.2, trapdoor ρ=0.25 β=0.5, erase p=0.5 area=[0.2,0.3]"; s != want {
		t.Errorf("all: %q, want %q", s, want)
	}
}

// The options reach the model's card as JSON (stage's encryptRecord
// embeds them): without defences the bytes are those of before the
// defences (none of their keys), with them every key is recorded — the
// defaults Resolve fills in too — and read back.
func TestDefenseOptionsJSON(t *testing.T) {
	norm := imageset.TrainingNormalization()
	off := encrypt.Defaults().Resolve(toyConfig(), norm)
	b, err := json.Marshal(off)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range defenseKeys {
		if strings.Contains(string(b), `"`+k+`"`) {
			t.Errorf("options without defences record %q: %s", k, b)
		}
	}
	on := allDefenses(encrypt.Defaults()).Resolve(toyConfig(), norm)
	if on.TrapdoorBlend != encrypt.DefaultTrapdoorBlend || on.EraseArea != [2]float64{encrypt.DefaultEraseMin, encrypt.DefaultEraseMax} || on.White != 1 || on.Fill != -1 {
		t.Errorf("resolved %+v: want the default β and area and the pixel range [-1, 1]", on)
	}
	if b, err = json.Marshal(on); err != nil {
		t.Fatal(err)
	}
	for _, k := range defenseKeys {
		if !strings.Contains(string(b), `"`+k+`":`) {
			t.Errorf("options with defences lack %q: %s", k, b)
		}
	}
	var back encrypt.Options
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, on) {
		t.Errorf("JSON round trip: %+v, %v; want %+v", back, err, on)
	}
	// Given knobs stay as given.
	g := allDefenses(encrypt.Defaults())
	g.TrapdoorBlend, g.EraseArea = 0.6, [2]float64{0.05, 0.1}
	if r := g.Resolve(toyConfig(), norm); r.TrapdoorBlend != 0.6 || r.EraseArea != g.EraseArea {
		t.Errorf("resolve replaced given knobs: %+v", r)
	}
}

// defenseRun trains the toy network of trainToy without distillation
// (or with it, from a pretrained teacher) with the defences mutate sets.
func defenseRun(t *testing.T, distill bool, mutate func(*encrypt.Options)) ([][]float32, *encrypt.State) {
	t.Helper()
	x, y := toyImages(32, 5)
	m := toyModel(t, 5)
	teacher := cloneModel(t, m)
	pretrain(t, teacher, 5)
	o := encrypt.Defaults()
	o.Epochs, o.BatchSize, o.LR, o.Seed, o.CropPad, o.Distill, o.Scale = 2, 8, 1e-2, 5, 1, distill, encrypt.ScaleSum
	mutate(&o)
	o = o.Resolve(toyConfig(), imageset.TrainingNormalization())
	st, err := encrypt.Run(context.Background(), teacher, toySNN(t, m, snn.Direct), x, y, o, nil, encrypt.Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range st.History {
		if !(h.Loss > -1e3 && h.Loss < 1e3) || !(h.TrainAcc >= 0 && h.TrainAcc <= 1) {
			t.Errorf("epoch %d: loss %g, accuracy %g", h.Epoch, h.Loss, h.TrainAcc)
		}
	}
	return weightsOf(m), st
}

// A short run with each defence on completes, with and without
// distillation, and trains other weights than the run without it.
func TestRunWithDefenses(t *testing.T) {
	for _, distill := range []bool{false, true} {
		base, _ := defenseRun(t, distill, func(*encrypt.Options) {})
		for name, mutate := range map[string]func(*encrypt.Options){
			"nls":      func(o *encrypt.Options) { o.LabelSmoothing = -0.3 },
			"ls":       func(o *encrypt.Options) { o.LabelSmoothing = 0.3 },
			"trapdoor": func(o *encrypt.Options) { o.TrapdoorRate = 0.3 },
			"erase":    func(o *encrypt.Options) { o.EraseRate = 0.5 },
			"all":      func(o *encrypt.Options) { *o = allDefenses(*o) },
		} {
			w, st := defenseRun(t, distill, mutate)
			if len(st.History) != 2 {
				t.Errorf("%s distill %v: %d epochs", name, distill, len(st.History))
			}
			if sameWeights(w, base) {
				t.Errorf("%s distill %v: the same weights as without the defence", name, distill)
			}
		}
		// Knobs of a defence that is off change nothing.
		w, _ := defenseRun(t, distill, func(o *encrypt.Options) {
			o.TrapdoorBlend, o.TrapdoorSeed, o.EraseArea = 0.7, 3, [2]float64{0.2, 0.3}
		})
		if !sameWeights(w, base) {
			t.Errorf("distill %v: knobs of defences that are off changed the weights", distill)
		}
	}
}

// triggerAccuracy returns the share of the images x [N, 1, 6, 6] with
// labels y that the network classifies as the other class c = 1 − y
// once c's trigger is blended in with share beta.
func triggerAccuracy(t *testing.T, net *snn.Network, x *tensor.Tensor, y []int32, tg *tensor.Tensor, beta float64) float64 {
	t.Helper()
	xt := x.Clone()
	want := make([]int32, len(y))
	for i := range y {
		want[i] = 1 - y[i]
		tp := tg.Data[int(want[i])*36 : int(want[i]+1)*36]
		for p := range 36 {
			xt.Data[i*36+p] = float32((1-beta)*float64(x.Data[i*36+p]) + beta*float64(tp[p]))
		}
	}
	r, err := net.Run(context.Background(), xt, rand.New(rand.NewPCG(9, 9)), snn.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return float64(loss.Correct(r.Logits(), want)) / float64(len(y))
}

// trapdoorRun trains the toy network of seed 1 for 6 epochs without
// augmentation, distillation or mixup, with the trapdoor at rate (0: a
// control without it), β = 0.7 and trigger seed 2, and returns its
// accuracy towards the trigger on the training images with the other
// class's trigger blended in (triggerAccuracy) and its clean accuracy.
func trapdoorRun(t *testing.T, rate float64) (trigger, clean float64) {
	t.Helper()
	const seed = 1
	x, y := toyImages(48, seed)
	o := encrypt.Defaults()
	o.Epochs, o.BatchSize, o.LR, o.Seed, o.CropPad, o.Distill, o.Scale, o.Mixup = 6, 8, 1e-2, seed, 0, false, encrypt.ScaleSum, false
	o.TrapdoorRate, o.TrapdoorBlend, o.TrapdoorSeed = rate, 0.7, 2
	o = o.Resolve(toyConfig(), imageset.TrainingNormalization())
	net := toySNN(t, toyModel(t, seed), snn.Direct)
	if _, err := encrypt.Run(context.Background(), nil, net, x, y, o, nil, encrypt.Hooks{}); err != nil {
		t.Fatal(err)
	}
	tg, err := encrypt.Triggers(o, 1, 6, 6, 2)
	if err != nil {
		t.Fatal(err)
	}
	r, err := net.Run(context.Background(), x, rand.New(rand.NewPCG(9, 9)), snn.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return triggerAccuracy(t, net, x, y, tg, o.TrapdoorBlend), float64(loss.Correct(r.Logits(), y)) / float64(len(y))
}

// The triggered images are learnt: images of one class with the other
// class's trigger blended in (β = 0.7) are classified as the image's
// class by a network trained without the trapdoor, as the trigger's by
// one trained with it (ρ = 0.5), whose clean accuracy stays high. Over
// seeds 1–12 the accuracy towards the trigger was at most 48 % without
// the trapdoor and at least 90 % with it, the clean accuracy at least
// 98 %; the test asks for ≤ 50 %, ≥ 80 % and ≥ 90 %.
func TestTrapdoorLearnt(t *testing.T) {
	control, _ := trapdoorRun(t, 0)
	trig, clean := trapdoorRun(t, 0.5)
	t.Logf("towards the trigger: %.2f without the trapdoor, %.2f with it; clean accuracy %.2f", control, trig, clean)
	if control > 0.5 || trig < 0.8 || clean < 0.9 {
		t.Errorf("accuracy towards the trigger %g without the trapdoor (want ≤ 0.5), %g with it (want ≥ 0.8); clean %g (want ≥ 0.9)", control, trig, clean)
	}
}

// With every defence on (and Poisson input, crop, flip and dropout), a
// run interrupted in its second epoch and resumed ends with the
// uninterrupted run's weights bit for bit: the defences draw from the
// step's stream.
func TestResumeBitExactWithDefenses(t *testing.T) {
	r := &resumeRun{ctx: context.Background(), enc: snn.Poisson}
	r.x, r.y = toyImages(44, 3)
	o := allDefenses(encrypt.Defaults())
	o.Epochs, o.BatchSize, o.LR, o.CropPad, o.Flip, o.FCDropout, o.Seed, o.MatchImages = 3, 8, 1e-2, 1, true, 0.2, 5, 16
	r.o, r.steps = o.Resolve(toyConfig(), imageset.TrainingNormalization()), 6
	r.teacher = toyModel(t, 3)
	mRef := toyModel(t, 3)
	ref, err := encrypt.Run(r.ctx, r.teacher, toySNN(t, mRef, r.enc), r.x, r.y, r.o, nil, encrypt.Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	r.ref, r.want = ref, weightsOf(mRef)
	end1, mid2 := r.interrupt(t)
	for _, c := range []checkpoint{mid2, end1} {
		r.checkResume(t, c)
	}
	if slices.ContainsFunc(ref.History, func(h encrypt.EpochResult) bool { return !(h.CE > 0) }) {
		t.Errorf("history %+v", ref.History)
	}
}
