package progress_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/privatesnn/privatesnn/progress"
)

func TestNilFunc(t *testing.T) {
	var f progress.Func
	if err := f.Report(progress.Report{Label: "steps", Done: 1, Total: 2}); err != nil {
		t.Fatal(err)
	}
	if f.WithStage("a") != nil {
		t.Fatal("WithStage of a nil Func is not nil")
	}
}

func TestStopIsWrapped(t *testing.T) {
	stop := errors.New("enough")
	f := progress.Func(func(progress.Report) error { return stop })
	err := f.Report(progress.Report{Label: "images", Done: 3, Total: 9})
	var se *progress.StopError
	if !errors.Is(err, stop) || !errors.As(err, &se) || se.Label != "images" || se.Done != 3 || se.Total != 9 {
		t.Fatalf("Report returned %v (%+v)", err, se)
	}
	// A nested run's stop error is not wrapped twice.
	outer := progress.Func(func(r progress.Report) error { return fmt.Errorf("stage x: %w", err) })
	err2 := outer.Report(progress.Report{Label: "stages", Done: 1, Total: 2})
	if !errors.As(err2, &se) || se.Label != "images" || !errors.Is(err2, stop) {
		t.Fatalf("nested stop %v", err2)
	}
}

func TestWithStage(t *testing.T) {
	var got []string
	f := progress.Func(func(r progress.Report) error { got = append(got, r.Name()); return nil })
	g := f.WithStage("audit").WithStage("")
	_ = g.WithStage("attack1 on DC").Report(progress.Report{Label: "steps", Done: 1, Total: 4})
	_ = g.Report(progress.Report{Label: "reference", Total: 0})
	if want := []string{"audit attack1 on DC steps", "audit reference"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("names %q, want %q", got, want)
	}
}

func TestValue(t *testing.T) {
	r := progress.Report{Values: []progress.Value{{"loss", 0.5}, {"accuracy", 0.9}}}
	if v, ok := r.Value("accuracy"); !ok || v != 0.9 {
		t.Fatalf("accuracy %g %v", v, ok)
	}
	if _, ok := r.Value("kd"); ok {
		t.Fatal("found a missing value")
	}
}

func ExampleFunc() {
	// A library's loop reports after each unit and stops when told to.
	run := func(f progress.Func) error {
		for i := range 5 {
			if err := f.Report(progress.Report{Label: "steps", Done: i + 1, Total: 5,
				Values: []progress.Value{{Name: "loss", Value: 1 / float64(i+1)}}}); err != nil {
				return fmt.Errorf("run: %w", err)
			}
		}
		return nil
	}
	errEnough := errors.New("enough")
	err := run(func(r progress.Report) error {
		loss, _ := r.Value("loss")
		fmt.Printf("%s %d/%d loss %.2f\n", r.Name(), r.Done, r.Total, loss)
		if r.Done == 2 {
			return errEnough
		}
		return nil
	})
	fmt.Println(err, errors.Is(err, errEnough))
	// Output:
	// steps 1/5 loss 1.00
	// steps 2/5 loss 0.50
	// run: stopped by the progress callback: enough true
}
