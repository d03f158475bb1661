package wasmvm

import (
	"errors"
	"fmt"
)

// ownMemory rewrites an OPA Wasm module that imports its memory (env.memory)
// into one that defines it: the import entry is dropped and a memory section
// with the same limits is added. wazero cannot give a module a memory from
// the host, and with its own memory every instance is independent. The
// memory index stays 0 (the module has exactly one memory either way), so no
// instruction changes.
func ownMemory(bin []byte) ([]byte, error) {
	if len(bin) < 8 || string(bin[:4]) != "\x00asm" {
		return nil, errors.New("not a wasm module")
	}
	out := append([]byte(nil), bin[:8]...)
	var limits []byte // the memory import's limits, encoded
	inserted := false
	p := 8
	for p < len(bin) {
		id := bin[p]
		size, n, err := uleb(bin[p+1:])
		if err != nil {
			return nil, fmt.Errorf("section at %d: %w", p, err)
		}
		start := p + 1 + n
		end := start + int(size)
		if end > len(bin) {
			return nil, fmt.Errorf("section %d at %d runs past the end", id, p)
		}
		body := bin[start:end]
		if limits != nil && !inserted && id != 0 && id != 3 && id != 4 {
			if id == 5 {
				return nil, errors.New("module both imports and defines a memory")
			}
			out = appendSection(out, 5, append([]byte{1}, limits...))
			inserted = true
		}
		if id == 2 {
			imports, lim, err := dropMemoryImport(body)
			if err != nil {
				return nil, err
			}
			limits = lim
			out = appendSection(out, 2, imports)
		} else {
			out = append(out, bin[p:end]...)
		}
		p = end
	}
	if limits == nil {
		return nil, errors.New("module imports no memory")
	}
	if !inserted {
		out = appendSection(out, 5, append([]byte{1}, limits...))
	}
	return out, nil
}

// dropMemoryImport returns the import section body without its memory
// import, and that import's limits.
func dropMemoryImport(body []byte) ([]byte, []byte, error) {
	count, n, err := uleb(body)
	if err != nil {
		return nil, nil, err
	}
	p := n
	var kept []byte
	var limits []byte
	for i := uint32(0); i < count; i++ {
		entry := p
		for range 2 { // module and field names
			l, n, err := uleb(body[p:])
			if err != nil {
				return nil, nil, err
			}
			p += n + int(l)
		}
		if p >= len(body) {
			return nil, nil, errors.New("import section truncated")
		}
		kind := body[p]
		p++
		switch kind {
		case 0: // function: type index
			_, n, err := uleb(body[p:])
			if err != nil {
				return nil, nil, err
			}
			p += n
		case 1: // table: reftype, limits
			p++
			n, err := skipLimits(body[p:])
			if err != nil {
				return nil, nil, err
			}
			p += n
		case 2: // memory: limits
			n, err := skipLimits(body[p:])
			if err != nil {
				return nil, nil, err
			}
			if limits != nil {
				return nil, nil, errors.New("module imports two memories")
			}
			limits = append([]byte(nil), body[p:p+n]...)
			p += n
			continue
		case 3: // global: valtype, mutability
			p += 2
		default:
			return nil, nil, fmt.Errorf("unknown import kind %d", kind)
		}
		kept = append(kept, body[entry:p]...)
	}
	if limits == nil {
		return body, nil, nil
	}
	return append(leb(count-1), kept...), limits, nil
}

func skipLimits(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, errors.New("limits truncated")
	}
	p := 1
	fields := 1
	if b[0]&1 != 0 {
		fields = 2
	}
	for range fields {
		_, n, err := uleb(b[p:])
		if err != nil {
			return 0, err
		}
		p += n
	}
	return p, nil
}

func appendSection(out []byte, id byte, body []byte) []byte {
	out = append(out, id)
	out = append(out, leb(uint32(len(body)))...)
	return append(out, body...)
}

func uleb(b []byte) (uint32, int, error) {
	var v uint32
	for i := 0; i < 5 && i < len(b); i++ {
		v |= uint32(b[i]&0x7f) << (7 * i)
		if b[i]&0x80 == 0 {
			return v, i + 1, nil
		}
	}
	return 0, 0, errors.New("bad LEB128")
}

func leb(v uint32) []byte {
	var out []byte
	for {
		b := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			out = append(out, b|0x80)
			continue
		}
		return append(out, b)
	}
}
