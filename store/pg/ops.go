package pg

import (
	"encoding/binary"
	"errors"

	"github.com/adgang/adgang/store"
)

// The operations of a log entry, encoded: for each, a flag byte (1 for a
// delete), the key and the value, each as a uvarint length and its bytes.

func encodeOps(ops []store.LogOp) []byte {
	n := 0
	for _, op := range ops {
		n += 1 + 2*binary.MaxVarintLen32 + len(op.Key) + len(op.Value)
	}
	b := make([]byte, 0, n)
	for _, op := range ops {
		flag := byte(0)
		if op.Delete {
			flag = 1
		}
		b = append(b, flag)
		b = binary.AppendUvarint(b, uint64(len(op.Key)))
		b = append(b, op.Key...)
		b = binary.AppendUvarint(b, uint64(len(op.Value)))
		b = append(b, op.Value...)
	}
	return b
}

var errCorrupt = errors.New("corrupt log entry")

func decodeOps(b []byte) ([]store.LogOp, error) {
	var ops []store.LogOp
	for len(b) > 0 {
		op := store.LogOp{Delete: b[0] == 1}
		b = b[1:]
		var err error
		if op.Key, b, err = chunk(b); err != nil {
			return nil, err
		}
		if op.Value, b, err = chunk(b); err != nil {
			return nil, err
		}
		ops = append(ops, op)
	}
	return ops, nil
}

func chunk(b []byte) ([]byte, []byte, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || uint64(len(b)-k) < n {
		return nil, nil, errCorrupt
	}
	return b[k : k+int(n)], b[k+int(n):], nil
}
