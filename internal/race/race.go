// Package race tells whether the program was built with the race detector
// (go build -race, go test -race).
//
// Tests use it to skip work that exercises no concurrency but runs several
// times slower under the detector's instrumentation, such as training a
// full-size network for an epoch; they still run in builds without -race.
package race
