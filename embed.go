package privatesnn

import "embed"

// Configs holds the pipeline configurations shipped with privatesnn
// (configs/*.toml): the demo, and the settings behind the README's tables.
//
//go:embed configs/*.toml
var Configs embed.FS
