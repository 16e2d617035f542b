package fit_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/privatesnn/privatesnn/fit"
	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/progress/progresstest"
)

// result is the fake run's epoch result.
type result struct{ epoch, steps int }

// run is a fake training run: it logs the calls the loop makes, counts
// the steps done (the "weights") and fails or cancels where told.
type run struct {
	log    []string
	done   int // steps run, over all epochs
	cancel func()
	// cancelAt cancels ctx after the step at that position; failAt makes
	// the step at that position fail with errStep; cancelInStep makes it
	// return ctx's error, as a step that notices the cancellation does.
	cancelAt, failAt, cancelInStep *fit.State[result]
	saves                          []fit.State[result]
	saveErr                        error
}

var errStep = errors.New("step failed")

type epoch struct {
	r     *run
	e     int
	steps int // steps of this epoch run, those before a resume included
}

func at(p *fit.State[result], e, s int) bool { return p != nil && p.Epoch == e && p.Step == s }

func (ep *epoch) Step(ctx context.Context, s int) ([]progress.Value, error) {
	r := ep.r
	if at(r.failAt, ep.e, s) {
		return nil, fmt.Errorf("epoch %d step %d: %w", ep.e+1, s+1, errStep)
	}
	if at(r.cancelInStep, ep.e, s) {
		r.cancel()
		return nil, fmt.Errorf("inside: %w", ctx.Err())
	}
	r.log = append(r.log, fmt.Sprintf("step %d.%d", ep.e, s))
	r.done++
	ep.steps++
	if at(r.cancelAt, ep.e, s) {
		r.cancel()
	}
	return []progress.Value{{Name: "steps", Value: float64(ep.steps)}}, nil
}

// Sums counts the epoch's steps as its images, one value: their sum of
// step numbers.
func (ep *epoch) Sums() fit.Sums {
	return fit.Sums{Seen: ep.steps, Values: []float64{float64(ep.steps * (ep.steps - 1) / 2)}}
}

func (ep *epoch) End(context.Context) (result, []progress.Value, error) {
	ep.r.log = append(ep.r.log, fmt.Sprintf("end %d", ep.e))
	return result{epoch: ep.e, steps: ep.steps}, []progress.Value{{Name: "epoch", Value: float64(ep.e)}}, nil
}

func (r *run) loop(epochs, steps int, p progress.Func) fit.Loop[result] {
	return fit.Loop[result]{Epochs: epochs, Steps: steps, Name: "fake", Progress: p,
		Begin: func(e int, from fit.Sums) fit.Epoch[result] {
			r.log = append(r.log, fmt.Sprintf("begin %d from %d", e, from.Seen))
			return &epoch{r: r, e: e, steps: from.Seen}
		},
		Save: func(s fit.State[result]) error {
			s.History = slices.Clone(s.History)
			r.saves = append(r.saves, s)
			return r.saveErr
		}}
}

func pos(s fit.State[result]) [3]int { return [3]int{s.Epoch, s.Step, len(s.History)} }

func TestUninterrupted(t *testing.T) {
	r := &run{}
	rec := &progresstest.Recorder{T: t}
	var st fit.State[result]
	if err := r.loop(2, 3, rec.Func()).Run(context.Background(), &st); err != nil {
		t.Fatal(err)
	}
	want := []string{"begin 0 from 0", "step 0.0", "step 0.1", "step 0.2", "end 0", "begin 1 from 0", "step 1.0", "step 1.1", "step 1.2", "end 1"}
	if !slices.Equal(r.log, want) {
		t.Errorf("calls %v, want %v", r.log, want)
	}
	if pos(st) != [3]int{2, 0, 2} || st.History[1] != (result{1, 3}) {
		t.Errorf("final state %+v", st)
	}
	// The end-of-epoch checkpoints hold the next position and the epoch's result.
	if len(r.saves) != 2 || pos(r.saves[0]) != [3]int{1, 0, 1} || pos(r.saves[1]) != [3]int{2, 0, 2} {
		t.Errorf("checkpoints %+v, want (1, 0) and (2, 0)", r.saves)
	}
	if len(rec.Reports) != 8 {
		t.Fatalf("%d reports, want 8", len(rec.Reports))
	}
	for i, p := range rec.Reports {
		e, s := i/4, i%4
		if p.Label != fmt.Sprintf("epoch %d/2", e+1) || p.Total != 3 || p.Done != min(s+1, 3) {
			t.Errorf("report %d: %+v", i, p)
		}
		d, ok := p.Detail.(*result)
		if s < 3 && (p.Detail != nil || p.Values[0] != progress.Value{Name: "steps", Value: float64(s + 1)}) {
			t.Errorf("step report %d: %+v", i, p)
		}
		if s == 3 && (!ok || *d != (result{e, 3}) || p.Values[0].Name != "epoch") {
			t.Errorf("end-of-epoch report %d: %+v, detail %+v", i, p, p.Detail)
		}
	}
}

// Cancellation before a step saves that step's position: the step is not
// run, and the saved state resumes with it.
func TestCancelSavesPosition(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := &run{cancel: cancel, cancelAt: &fit.State[result]{Epoch: 1, Step: 1}}
	var st fit.State[result]
	err := r.loop(3, 4, nil).Run(ctx, &st)
	if !errors.Is(err, context.Canceled) || err.Error() != context.Canceled.Error() {
		t.Fatalf("err %v, want ctx's error as it is", err)
	}
	if r.done != 6 || pos(st) != [3]int{1, 2, 1} {
		t.Fatalf("%d steps run, state %+v; want 6 and (1, 2) with 1 epoch", r.done, st)
	}
	if len(r.saves) != 2 || pos(r.saves[1]) != [3]int{1, 2, 1} {
		t.Fatalf("checkpoints %+v, want the cancellation's at (1, 2)", r.saves)
	}
	// The end-of-epoch checkpoint holds no sums, the cancellation's those
	// of the epoch's 2 steps run.
	if s := r.saves[0].Sums; s.Seen != 0 || s.Values != nil {
		t.Fatalf("end-of-epoch checkpoint sums %+v, want none", s)
	}
	if s := r.saves[1].Sums; s.Seen != 2 || !slices.Equal(s.Values, []float64{1}) || st.Sums.Seen != 2 {
		t.Fatalf("checkpoint sums %+v (state %+v), want 2 steps", s, st.Sums)
	}

	// Resuming runs the rest exactly once: begin epoch 1 again (its order
	// is drawn again) from the saved sums, then steps 2 and 3.
	r2 := &run{}
	resumed := r.saves[1]
	if err := r2.loop(3, 4, nil).Run(context.Background(), &resumed); err != nil {
		t.Fatal(err)
	}
	want := []string{"begin 1 from 2", "step 1.2", "step 1.3", "end 1", "begin 2 from 0", "step 2.0", "step 2.1", "step 2.2", "step 2.3", "end 2"}
	if !slices.Equal(r2.log, want) || r.done+r2.done != 12 {
		t.Fatalf("resumed calls %v, want %v", r2.log, want)
	}
	if pos(resumed) != [3]int{3, 0, 3} || resumed.History[1] != (result{1, 4}) || resumed.History[2] != (result{2, 4}) || resumed.Sums.Seen != 0 {
		t.Fatalf("resumed state %+v: epoch 2's result sums up its 4 steps, 2 of them before the resume", resumed)
	}
}

// A step that returns ctx's error is a cancellation: the state is saved
// at that step, not counted.
func TestCancelInStep(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := &run{cancel: cancel, cancelInStep: &fit.State[result]{Epoch: 0, Step: 2}}
	var st fit.State[result]
	err := r.loop(2, 4, nil).Run(ctx, &st)
	if !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "inside: ") {
		t.Fatalf("err %v, want the step's error", err)
	}
	if r.done != 2 || pos(st) != [3]int{0, 2, 0} || len(r.saves) != 1 || pos(r.saves[0]) != [3]int{0, 2, 0} {
		t.Fatalf("%d steps, state %+v, checkpoints %+v; want 2 and (0, 2) saved", r.done, st, r.saves)
	}
}

// Another error of a step stops the run where it failed, without a save.
func TestStepErrorNoSave(t *testing.T) {
	r := &run{failAt: &fit.State[result]{Epoch: 1, Step: 3}}
	var st fit.State[result]
	err := r.loop(2, 4, nil).Run(context.Background(), &st)
	if !errors.Is(err, errStep) || err.Error() != "epoch 2 step 4: step failed" {
		t.Fatalf("err %v, want the step's error as it is", err)
	}
	if pos(st) != [3]int{1, 3, 1} || len(r.saves) != 1 {
		t.Fatalf("state %+v after %d saves; want (1, 3) and only the end-of-epoch save", st, len(r.saves))
	}
}

// The progress callback's error after a step counts the step (its update
// is done), saves the next step and stops; at the end of an epoch it saves
// the next epoch: the epoch is finished.
func TestProgressErrorStops(t *testing.T) {
	for _, c := range []struct {
		stop  int    // the report that errs, 1-based
		want  [3]int // epoch, step, history
		saves int
	}{
		{stop: 2, want: [3]int{0, 2, 0}, saves: 1},
		{stop: 3, want: [3]int{0, 3, 0}, saves: 1}, // after the last step, before End
		{stop: 4, want: [3]int{1, 0, 1}, saves: 1}, // the end of epoch 1
		{stop: 6, want: [3]int{1, 2, 1}, saves: 2},
	} {
		t.Run(fmt.Sprint(c.stop), func(t *testing.T) {
			r := &run{}
			rec := &progresstest.Recorder{T: t, StopAfter: c.stop}
			var st fit.State[result]
			err := r.loop(2, 3, rec.Func()).Run(context.Background(), &st)
			rec.CheckStopped(err)
			if !strings.HasPrefix(err.Error(), "fake: stopped by the progress callback: ") {
				t.Errorf("error %q, want it prefixed by the loop's name", err)
			}
			if pos(st) != c.want || len(r.saves) != c.saves || pos(r.saves[len(r.saves)-1]) != c.want {
				t.Fatalf("state %+v, checkpoints %+v; want %v saved, %d saves", st, r.saves, c.want, c.saves)
			}
			if r.done != c.want[0]*3+c.want[1] {
				t.Errorf("%d steps run for position %v", r.done, c.want)
			}
			if got := r.saves[len(r.saves)-1].Sums.Seen; got != c.want[1] {
				t.Errorf("checkpoint at %v sums %d steps", c.want, got)
			}
		})
	}
}

// A failing Save at the end of an epoch stops the run with its error; on
// a stop, it is joined to the cause.
func TestSaveErrors(t *testing.T) {
	disk := errors.New("disk full")
	r := &run{saveErr: disk}
	var st fit.State[result]
	err := r.loop(3, 2, nil).Run(context.Background(), &st)
	if !errors.Is(err, disk) || !strings.HasPrefix(err.Error(), "save checkpoint: ") || len(r.saves) != 1 || pos(st) != [3]int{1, 0, 1} {
		t.Fatalf("err %v after %d saves, state %+v", err, len(r.saves), st)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r = &run{saveErr: disk, cancel: cancel, cancelAt: &fit.State[result]{Epoch: 0, Step: 0}}
	st = fit.State[result]{}
	err = r.loop(3, 2, nil).Run(ctx, &st)
	if !errors.Is(err, disk) || !errors.Is(err, context.Canceled) || pos(st) != [3]int{0, 1, 0} {
		t.Fatalf("err %v, state %+v; want the cancellation joined with the save error", err, st)
	}
}

// A run resumed at its end, or without Save and Progress, does what it
// should: nothing more, or the same steps.
func TestEdges(t *testing.T) {
	r := &run{}
	st := fit.State[result]{Epoch: 2}
	if err := r.loop(2, 3, nil).Run(context.Background(), &st); err != nil || len(r.log) != 0 {
		t.Fatalf("finished run: err %v, calls %v", err, r.log)
	}
	r = &run{}
	l := r.loop(1, 2, nil)
	l.Save = nil
	st = fit.State[result]{}
	if err := l.Run(context.Background(), &st); err != nil || r.done != 2 || pos(st) != [3]int{1, 0, 1} {
		t.Fatalf("run without hooks: err %v, %d steps, state %+v", err, r.done, st)
	}
}

// Sums.Check accepts an epoch's sums of n values, or none before any
// image, and refuses the rest; Clone shares nothing.
func TestSumsCheck(t *testing.T) {
	for _, c := range []struct {
		s  fit.Sums
		ok bool
	}{
		{fit.Sums{}, true},
		{fit.Sums{Seen: 8, Values: []float64{1, 2}, Seconds: 0.5}, true},
		{fit.Sums{Seen: 8}, false},
		{fit.Sums{Values: []float64{1}}, false},
		{fit.Sums{Seen: -1, Values: []float64{1, 2}}, false},
		{fit.Sums{Seen: 1, Values: []float64{1, 2}, Seconds: -1}, false},
	} {
		if err := c.s.Check(2); (err == nil) != c.ok {
			t.Errorf("%+v: Check(2) = %v", c.s, err)
		}
	}
	s := fit.Sums{Seen: 1, Values: []float64{1, 2}}
	c := s.Clone()
	c.Values[0] = 9
	if s.Values[0] != 1 {
		t.Error("Clone shares its values")
	}
}

// Stream draws what the training loops drew before the loop was shared:
// the first values below are those of train's stream at commit c5154ef
// (rand.NewPCG(seed, epoch<<32 ^ (step+1))), so published runs are
// reproduced.
func TestStream(t *testing.T) {
	for _, c := range []struct {
		seed        uint64
		epoch, step int
		first       uint64
	}{{7, 3, 5, 0x65998678c30b634f}, {7, 0, -1, 0x44ffd670373170de}, {1, 2, 0, 0x402e2f28af4a35b5}} {
		if got := fit.Stream(c.seed, c.epoch, c.step).Uint64(); got != c.first {
			t.Errorf("Stream(%d, %d, %d) first draws %#x, want %#x", c.seed, c.epoch, c.step, got, c.first)
		}
	}
	seen := map[uint64][2]int{}
	for e := range 3 {
		for s := -1; s < 3; s++ {
			v := fit.Stream(7, e, s).Uint64()
			if p, ok := seen[v]; ok {
				t.Errorf("(%d, %d) and %v draw the same first value", e, s, p)
			}
			seen[v] = [2]int{e, s}
		}
	}
}
