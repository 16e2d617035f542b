package snn

// Signed neurons (Config.Signed). Besides the positive spike of an IF/LIF
// neuron (v > θ, then v − θ), a signed neuron emits a negative spike (−1)
// when its charged membrane falls below 0 while its net spike count q
// (positive minus negative spikes so far, 0 at the start of every image)
// is positive, and its membrane then rises by θ. It takes back a spike
// that an early surplus of input made it fire, so that its net count
// after T steps follows its total input more closely: the rate error that
// uneven input over time (a large current early, a negative one later)
// leaves in a neuron that can only fire upwards. q never goes below 0, so
// the net output of a neuron stays a count of positive spikes. A signed
// neuron is a signed burst neuron of at most one spike per step: its Go
// scans are burstScanGo and burstSurrogateScanGo with g = 1
// (signedBurstStep). Both have C twins used in cgo builds: the forward
// scan psnn_signed_scan (in Go it took about half of a simulation's time)
// and the surrogate scan of backpropagation psnn_burst_surrogate_scan.
