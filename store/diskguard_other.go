//go:build !linux

package store

import "os"

// freeBytes is not implemented here: the free-space guard is off.
func freeBytes(string) (uint64, bool) { return 0, false }

// allocatedBytes is fi's size (an upper bound of its space on disk).
func allocatedBytes(fi os.FileInfo) uint64 { return uint64(fi.Size()) }
