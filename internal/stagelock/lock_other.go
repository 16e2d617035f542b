//go:build !unix

package stagelock

import "os"

const supported = false

func tryLock(*os.File) (bool, error)       { return false, errUnsupported }
func unlock(*os.File) error                { return errUnsupported }
func testLock(*os.File) (bool, int, error) { return false, 0, errUnsupported }
