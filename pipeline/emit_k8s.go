package pipeline

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
)

// EmitK8s writes a Kubernetes batch/v1 Job manifest (JSON, which kubectl
// accepts as YAML) that runs s.Jobs and then the reports.
//
// The Job is Indexed with len(s.Jobs)+1 completions, and every pod runs
// s.Binary with "--stage-index i --wait": pod i < len(s.Jobs) runs stage
// i, pod len(s.Jobs) the reports (see the task arguments in emit.go). The
// index comes from the pod's batch.kubernetes.io/job-completion-index
// annotation through the STAGE_INDEX variable, which Kubernetes expands
// in the arguments; the image needs no shell.
//
// Every pod waits for its stage's dependencies through the shared work
// directory (the worker does that), and a finished stage returns at once,
// so deleting the Job and applying the manifest again resumes the sweep.
// The Job controller starts the lowest pending indexes first and Jobs
// lists dependencies first, so the lowest unfinished stage always has a
// pod and its dependencies are done.
//
// Every pod mounts the PersistentVolumeClaim s.Claim at s.Mount and
// requests and is limited to s.Threads CPUs. Failed pods count against
// one budget, k8sBackoffLimit, for the whole Job rather than one per
// index: a stage that gave up alone would leave its dependants waiting.
// Pods disrupted (evicted, preempted) are replaced without counting. The
// output depends on s alone.
func EmitK8s(w io.Writer, s EmitSpec) error {
	name, err := k8sJobName(s.Name)
	if err != nil {
		return err
	}
	if err := checkK8sSpec(s); err != nil {
		return err
	}
	n := len(s.Jobs)
	labels := map[string]string{
		"app.kubernetes.io/name":     "privatesnn",
		"app.kubernetes.io/instance": name,
	}
	// Kubernetes expands $(VAR) in command and args and turns $$ into $;
	// the arguments taken from s are escaped so they arrive as given.
	esc := func(a string) string { return strings.ReplaceAll(a, "$", "$$") }
	threads := strconv.Itoa(s.Threads)
	cpu := map[string]string{"cpu": threads}
	job := k8sJob{
		APIVersion: "batch/v1",
		Kind:       "Job",
		Metadata:   k8sMeta{Name: name, Labels: labels},
		Spec: k8sJobSpec{
			CompletionMode: "Indexed",
			Completions:    n + 1,
			Parallelism:    k8sParallelism(s),
			BackoffLimit:   k8sBackoffLimit,
			PodFailurePolicy: k8sPodFailurePolicy{Rules: []k8sPodFailureRule{{
				Action:          "Ignore",
				OnPodConditions: []k8sPodCondition{{Type: "DisruptionTarget", Status: "True"}},
			}}},
			Template: k8sPodTemplate{
				Metadata: k8sMeta{Labels: labels},
				Spec: k8sPodSpec{
					RestartPolicy: "Never",
					Containers: []k8sContainer{{
						Name:    "privatesnn",
						Image:   s.Image,
						Command: []string{esc(s.Binary)},
						Args: []string{"run", esc(s.Config), "--workdir", esc(s.Workdir), "--threads", threads,
							"--stage-index", "$(STAGE_INDEX)", "--wait"},
						Env: []k8sEnv{{
							Name: "STAGE_INDEX",
							ValueFrom: k8sEnvSource{FieldRef: k8sFieldRef{
								FieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']",
							}},
						}},
						Resources:    k8sResources{Requests: cpu, Limits: cpu},
						VolumeMounts: []k8sVolumeMount{{Name: "work", MountPath: s.Mount}},
					}},
					Volumes: []k8sVolume{{
						Name:                  "work",
						PersistentVolumeClaim: k8sClaim{ClaimName: s.Claim},
					}},
				},
			},
		},
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(job); err != nil {
		return fmt.Errorf("emit k8s: %w", err)
	}
	_, err = w.Write(b.Bytes())
	return err
}

// k8sBackoffLimit is the Job's spec.backoffLimit: pod failures, over all
// indexes, before the Job fails.
const k8sBackoffLimit = 3

// k8sMaxCompletions is the most completions an Indexed Job may have.
const k8sMaxCompletions = 100000

// k8sJobName returns the Job's metadata.name for a configuration's name:
// "privatesnn-" and the name lowered, with every run of characters other
// than a-z and 0-9 made one "-", cut to the 63 characters of a DNS-1123
// label.
func k8sJobName(name string) (string, error) {
	d := dashed(name)
	if d == "" {
		return "", fmt.Errorf("emit k8s: name %q: want a letter or digit to make a Kubernetes name from", name)
	}
	full := "privatesnn-" + d
	if len(full) > 63 {
		full = strings.TrimRight(full[:63], "-")
	}
	return full, nil
}

// checkK8sSpec returns an error for a spec EmitK8s cannot write.
func checkK8sSpec(s EmitSpec) error {
	switch {
	case s.Binary == "":
		return fmt.Errorf("emit k8s: no binary")
	case s.Image == "":
		return fmt.Errorf("emit k8s: no container image")
	case s.Claim == "":
		return fmt.Errorf("emit k8s: no PersistentVolumeClaim")
	case s.Threads < 1:
		return fmt.Errorf("emit k8s: threads %d: want at least 1", s.Threads)
	case s.Parallel < 0:
		return fmt.Errorf("emit k8s: parallel %d: want 0 or more", s.Parallel)
	case len(s.Jobs) == 0:
		return fmt.Errorf("emit k8s: no stages")
	case len(s.Jobs)+1 > k8sMaxCompletions:
		return fmt.Errorf("emit k8s: %d stages: an indexed Job has at most %d pods", len(s.Jobs), k8sMaxCompletions)
	case !path.IsAbs(s.Mount):
		return fmt.Errorf("emit k8s: mount %q: want an absolute path", s.Mount)
	}
	for _, p := range []struct {
		what, path string
		root       bool // may be the mount itself
	}{{"config", s.Config, false}, {"workdir", s.Workdir, true}} {
		if !path.IsAbs(p.path) {
			return fmt.Errorf("emit k8s: %s %q: want an absolute path", p.what, p.path)
		}
		m, q := path.Clean(s.Mount), path.Clean(p.path)
		under := m == "/" && q != "/" || strings.HasPrefix(q, m+"/")
		if !under && !(p.root && q == m) {
			return fmt.Errorf("emit k8s: %s %q is not under the mount %q", p.what, p.path, s.Mount)
		}
	}
	return nil
}

// k8sParallelism returns s.Parallel, or for 0 the most stages not Done at
// one Level, at least 1; at most len(s.Jobs)+1 either way.
func k8sParallelism(s EmitSpec) int {
	p := s.Parallel
	if p == 0 {
		width := map[int]int{}
		for _, j := range s.Jobs {
			if !j.Done {
				width[j.Level]++
				p = max(p, width[j.Level])
			}
		}
		p = max(p, 1)
	}
	return min(p, len(s.Jobs)+1)
}

// The manifest's objects, with only the fields EmitK8s writes, in the
// order kubectl shows them.
type (
	k8sJob struct {
		APIVersion string     `json:"apiVersion"`
		Kind       string     `json:"kind"`
		Metadata   k8sMeta    `json:"metadata"`
		Spec       k8sJobSpec `json:"spec"`
	}
	k8sMeta struct {
		Name   string            `json:"name,omitempty"`
		Labels map[string]string `json:"labels"`
	}
	k8sJobSpec struct {
		CompletionMode   string              `json:"completionMode"`
		Completions      int                 `json:"completions"`
		Parallelism      int                 `json:"parallelism"`
		BackoffLimit     int                 `json:"backoffLimit"`
		PodFailurePolicy k8sPodFailurePolicy `json:"podFailurePolicy"`
		Template         k8sPodTemplate      `json:"template"`
	}
	k8sPodFailurePolicy struct {
		Rules []k8sPodFailureRule `json:"rules"`
	}
	k8sPodFailureRule struct {
		Action          string            `json:"action"`
		OnPodConditions []k8sPodCondition `json:"onPodConditions"`
	}
	k8sPodCondition struct {
		Type   string `json:"type"`
		Status string `json:"status"`
	}
	k8sPodTemplate struct {
		Metadata k8sMeta    `json:"metadata"`
		Spec     k8sPodSpec `json:"spec"`
	}
	k8sPodSpec struct {
		RestartPolicy string         `json:"restartPolicy"`
		Containers    []k8sContainer `json:"containers"`
		Volumes       []k8sVolume    `json:"volumes"`
	}
	k8sContainer struct {
		Name         string           `json:"name"`
		Image        string           `json:"image"`
		Command      []string         `json:"command"`
		Args         []string         `json:"args"`
		Env          []k8sEnv         `json:"env"`
		Resources    k8sResources     `json:"resources"`
		VolumeMounts []k8sVolumeMount `json:"volumeMounts"`
	}
	k8sEnv struct {
		Name      string       `json:"name"`
		ValueFrom k8sEnvSource `json:"valueFrom"`
	}
	k8sEnvSource struct {
		FieldRef k8sFieldRef `json:"fieldRef"`
	}
	k8sFieldRef struct {
		FieldPath string `json:"fieldPath"`
	}
	k8sResources struct {
		Requests map[string]string `json:"requests"`
		Limits   map[string]string `json:"limits"`
	}
	k8sVolumeMount struct {
		Name      string `json:"name"`
		MountPath string `json:"mountPath"`
	}
	k8sVolume struct {
		Name                  string   `json:"name"`
		PersistentVolumeClaim k8sClaim `json:"persistentVolumeClaim"`
	}
	k8sClaim struct {
		ClaimName string `json:"claimName"`
	}
)
