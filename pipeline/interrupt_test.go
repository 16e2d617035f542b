package pipeline

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/privatesnn/privatesnn/progress"
)

// A cancelled run returns an *InterruptedError naming the stage it stopped
// at and whether that stage resumes; a re-run resumes from there.
func TestInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	calls := map[string]int{}
	mk := func(name string, resumes bool, deps ...string) Stage {
		return Stage{Name: name, Deps: deps, Settings: name, Resumes: resumes,
			Run: func(ctx context.Context, dir string, in Inputs, p progress.Func) (any, error) {
				calls[name]++
				if name == "b" && calls[name] == 1 {
					cancel()
					return nil, ctx.Err()
				}
				return name, nil
			}}
	}
	g := &Graph{Workdir: t.TempDir(), Stages: []Stage{mk("a", false), mk("b", true, "a"), mk("c", false, "b")}}
	_, err := g.Run(ctx, nil)
	ie, ok := errors.AsType[*InterruptedError](err)
	if !ok || !errors.Is(err, context.Canceled) || ie.Stage != "b" || !ie.Resumes || ie.Done != 1 || ie.Stages != 3 {
		t.Fatalf("interrupted run: %#v", err)
	}
	if want := "interrupted at stage b (1 of 3 stages done); re-running the same configuration resumes the run: " +
		"the stages done are cached and b continues from its last checkpoint"; err.Error() != want {
		t.Errorf("message %q\nwant %q", err, want)
	}
	// Cancelled before a stage starts: the stage that would have run.
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	g.Stages[1].Resumes = false
	if _, err := g.Run(ctx, nil); err == nil || !strings.Contains(err.Error(), "at stage b (1 of 3 stages done)") || !strings.HasSuffix(err.Error(), "b starts over") {
		t.Errorf("cancelled before b: %v", err)
	}
	if done, err := g.Run(context.Background(), nil); err != nil || !done[0].Cached || calls["a"] != 1 || calls["b"] != 2 || calls["c"] != 1 {
		t.Fatalf("re-run: %v, calls %v", err, calls)
	}
}
