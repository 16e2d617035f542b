// Package imageset holds what both sides of the pipeline do with 8-bit
// images: the Set of labelled CHW images, the Normalization that maps a
// pixel to a network input, the Augment of random crops and flips, the
// Smooth box blur, and the PNG output of a set (Picture, Grid, WritePNG,
// WriteClassFolders).
//
// It reads no files; of this module it imports only packages tensor and
// internal/atomicfile, so the data-free packages (synth, convert, encrypt,
// attack, audit) may use it. The readers of real data set files are in
// package data, whose Set is this Set.
//
// Normalization has two arithmetics for the same formula (p/255 − Mean)/Std,
// which differ in the last bit for some pixels (128 of the 256 bytes for
// Mean = Std = 0.5). Float64Table computes in float64 and rounds once: the
// training and evaluation side (packages data, train, the eval and energy
// measurements) and synthesis use it. Float32Table computes
// p/(255·Std) − Mean/Std in float32: the model side (calibration in
// package convert, encryption, the attacks and the audit) uses it. Each
// stage keeps the arithmetic its published results were produced with, so
// that they are reproduced bit for bit.
package imageset
