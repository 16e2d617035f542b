package main

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
)

// TestJSONFlag: --json and -json ask for JSON, with or without =true;
// =false, a --json after "--" and no flag do not.
func TestJSONFlag(t *testing.T) {
	for args, want := range map[string]bool{
		"--json": true, "-json": true, "--json=true": true, "--json=1": true, "--model x --json": true,
		"--json=false": false, "--json --json=false": false, "": false, "-- --json": false, "--jsonx": false, "json": false,
	} {
		if got := jsonFlag(splitArgs(args)); got != want {
			t.Errorf("jsonFlag(%q) = %v, want %v", args, got, want)
		}
	}
}

// TestJSONError: under --json, a usage error is one JSON object on stderr
// with the command, the message and the exit status, and nothing else.
func TestJSONError(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"eval", "--json", "--timesteps", "-1"}, &out, &errb)
	var e struct {
		Command, Error string
		Exit           int
	}
	if err := json.Unmarshal(errb.Bytes(), &e); err != nil || code != 2 || e.Exit != 2 || e.Command != "eval" || e.Error == "" || out.Len() != 0 {
		t.Errorf("exit %d, stdout %q, stderr %q (%v)", code, out.String(), errb.String(), err)
	}
}
